package cloudcatalog

// These tests encode what the official CloudCatalog client (heliocloud-data/cloudcatalog,
// src/cloudcatalog.py at 1.1.0) does with what we write. Each names the client's line of behaviour it
// stands for; readLikeClient is a port of request_cloud_catalog's read path.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func sampleCatalog() *Catalog {
	return &Catalog{
		Version: Version, Endpoint: Endpoint("helio-public"), Name: "Example HelioCloud", Region: "us-east-1",
		Egress: "free", Status: Status{Code: StatusOK, Message: "OK request successful"}, Contact: "data@example.org",
		Catalog: []Entry{{
			ID: "MMS", Index: "s3://helio-public/MMS/", Title: "MMS data",
			Start: "2015-09-01T12:11:14.000Z", Stop: "2015-09-01T12:12:14.000Z", Modification: "2026-12-01T00:00:00.000Z",
			IndexType: "csv", FileType: "cdf,fits", Resource: "SPASE-1234567", Contact: "Dr. Soandso",
		}},
	}
}

func sampleRows() []Row {
	t0 := time.Date(2015, 9, 1, 12, 11, 14, 0, time.UTC)
	return []Row{
		{Start: t0, Stop: t0.Add(time.Minute), Key: "s3://helio-public/MMS/mms1/fgm/a.cdf", Size: 4641642},
		{Start: t0.Add(time.Hour), Stop: t0.Add(time.Hour + time.Minute), Key: "s3://helio-public/MMS/mms1/fgm/b,with comma.cdf", Size: 12,
			Checksum: "d41d8cd98f00b204e9800998ecf8427e", ChecksumAlgorithm: "md5"},
	}
}

// CloudCatalog.__init__: `if any([key not in self.catalog for key in ["status", "catalog"]])` and
// `self.catalog["status"]["code"] == 1400`: status is an object with a numeric code.
func TestClientRuleStatusIsAnObjectWithCode(t *testing.T) {
	data, err := sampleCatalog().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	st, ok := raw["status"].(map[string]any)
	if !ok {
		t.Fatalf("status is %T, the client indexes status[\"code\"]", raw["status"])
	}
	if st["code"] != float64(1200) {
		t.Fatalf("status.code = %v, want the number 1200", st["code"])
	}
	if _, ok := raw["catalog"].([]any); !ok {
		t.Fatal("catalog is not a list")
	}
	if _, err := ParseCatalog([]byte(`{"status":"1200/OK","catalog":[]}`)); err == nil {
		t.Fatal("ParseCatalog accepts HelioCloud's string status, which the client cannot read")
	}
}

// CloudCatalog.__init__: every entry needs id, index, title, start and stop (the spec adds
// modification, indextype and filetype); HelioCloud wrote dataset_id, which the client rejects.
func TestClientRuleEntryHasRequiredKeys(t *testing.T) {
	data, _ := sampleCatalog().Marshal()
	var raw struct {
		Catalog []map[string]any `json:"catalog"`
	}
	json.Unmarshal(data, &raw)
	for _, k := range []string{"id", "index", "title", "start", "stop", "modification", "indextype", "filetype"} {
		if _, ok := raw.Catalog[0][k]; !ok {
			t.Errorf("entry has no %q", k)
		}
	}
	if _, ok := raw.Catalog[0]["dataset_id"]; ok {
		t.Error("entry carries dataset_id")
	}
	if _, err := ParseCatalog(data); err != nil {
		t.Fatalf("the client's checks refuse our catalog: %v", err)
	}
	if _, err := ParseCatalog([]byte(`{"status":{"code":1200},"catalog":[{"dataset_id":"MMS","index":"s3://b/MMS/","title":"t","start":"2015-01-01T00Z","stop":"2015-01-01T00Z"}]}`)); err == nil {
		t.Fatal("ParseCatalog accepts an entry without id")
	}
}

// CloudCatalog.__init__: `(loc.startswith("s3://") or loc.startswith("http")) and loc[-1] == "/"`; the
// validator's valid_endpoint wants the trailing / on the endpoint too.
func TestClientRuleIndexAndEndpointEndInSlash(t *testing.T) {
	c := sampleCatalog()
	if !strings.HasSuffix(c.Endpoint, "/") || !strings.HasSuffix(c.Catalog[0].Index, "/") {
		t.Fatalf("endpoint %q, index %q", c.Endpoint, c.Catalog[0].Index)
	}
	bad := *c
	bad.Catalog = []Entry{c.Catalog[0]}
	bad.Catalog[0].Index = "s3://helio-public/MMS"
	if len(bad.Problems()) == 0 {
		t.Fatal("an index without the trailing / passes")
	}
	if _, _, err := SplitIndex("s3://helio-public/MMS"); err == nil {
		t.Fatal("SplitIndex accepts s3://helio-public/MMS")
	}
	if b, p, err := SplitIndex("s3://helio-public/MMS/"); err != nil || b != "helio-public" || p != "MMS/" {
		t.Fatalf("SplitIndex = %q %q %v", b, p, err)
	}
}

// request_cloud_catalog parses the start and stop columns with %Y-%m-%dT%H:%M:%S.%fZ, then
// %Y-%m-%dT%H:%M:%SZ, then %Y-%m-%dT%H:%MZ; year_range strips the last character (the Z).
func TestClientRuleTimesInOneOfTheThreeFormats(t *testing.T) {
	for _, in := range []string{"2015-09-01T12:11:14.123Z", "2015-09-01T12:11:14Z", "2015-09-01T12:11Z", "2015-09-01T12Z", "2015-09-01T12:11:14+00:00", "2015-09-01T14:11:14+02:00"} {
		got, err := ParseTime(in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", in, err)
			continue
		}
		out := FormatTime(got)
		if _, ok := clientParseTime(out); !ok {
			t.Errorf("FormatTime gives %q, which none of the client's three formats reads", out)
		}
		if !IsRestricted(out) || !strings.HasSuffix(out, "Z") {
			t.Errorf("%q is not restricted ISO 8601 with a trailing Z", out)
		}
	}
	// HelioCloud's pandas rendering, which the client cannot read.
	if _, ok := clientParseTime("2015-09-01 12:11:14+00:00"); ok {
		t.Fatal("clientParseTime is too lenient")
	}
}

// request_cloud_catalog: filename = f"{eid}_{year}.{ndxformat}" with ndxformat = "csv" hard-coded.
func TestClientRuleIndexFilesAreCSVPerYear(t *testing.T) {
	if got := IndexKey("MMS/", "MMS", 2015); got != "MMS/MMS_2015.csv" {
		t.Fatalf("IndexKey = %q", got)
	}
	if got := IndexKey("", "X", 999); got != "X_0999.csv" {
		t.Fatalf("IndexKey = %q", got)
	}
}

// request_cloud_catalog: the first header column loses "# ", then the first four columns are renamed
// start, stop, datakey, filesize by position; datakeys are fetched as given (absolute s3:// URLs).
func TestClientRuleIndexColumnOrderAndAbsoluteKeys(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteIndex(&buf, sampleRows()); err != nil {
		t.Fatal(err)
	}
	got, err := readLikeClient(buf.Bytes(), 1.1, "2015-09-01T00Z", "2015-09-02T00Z")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("the client reads %d rows, want 2", len(got))
	}
	for i, r := range got {
		want := sampleRows()[i]
		if r["datakey"] != want.Key || r["filesize"] != strconv.FormatInt(want.Size, 10) {
			t.Errorf("row %d: the client reads %v, want key %s size %d", i, r, want.Key, want.Size)
		}
		if !strings.HasPrefix(r["datakey"], "s3://") {
			t.Errorf("row %d: datakey %q is not absolute", i, r["datakey"])
		}
	}
	if got[1]["checksum"] != "d41d8cd98f00b204e9800998ecf8427e" || got[1]["checksum_algorithm"] != "md5" {
		t.Errorf("checksum columns: %v", got[1])
	}
	if !strings.HasPrefix(buf.String(), "# start,stop,datakey,filesize,checksum,checksum_algorithm\n") {
		t.Fatalf("header: %q", strings.SplitN(buf.String(), "\n", 2)[0])
	}
}

// request_cloud_catalog: version = float(catalog["Cloudy"]) else float(catalog["version"]); below 0.5
// the client inserts a stop column made from the next row's start.
func TestClientRuleVersionIsAFloatOfAtLeastHalf(t *testing.T) {
	data, _ := sampleCatalog().Marshal()
	var raw map[string]any
	json.Unmarshal(data, &raw)
	s, ok := raw["version"].(string)
	if !ok {
		t.Fatalf("version is %T", raw["version"])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0.5 {
		t.Fatalf("float(%q) = %v, %v: the client needs a float of at least 0.5", s, v, err)
	}
	if _, ok := raw["Cloudy"]; ok {
		t.Fatal("Cloudy is set; the client would read it before version")
	}
}

// The spec: filetype is one string, comma-separated, no spaces (HelioCloud wrote a JSON array).
func TestClientRuleFiletypeIsACommaSeparatedString(t *testing.T) {
	e := sampleCatalog().Catalog[0]
	if len(e.Problems()) != 0 {
		t.Fatalf("sample entry: %v", e.Problems())
	}
	e.FileType = "cdf, fits"
	if len(e.Problems()) == 0 {
		t.Fatal("a space in filetype passes")
	}
	data, _ := sampleCatalog().Marshal()
	if !bytes.Contains(data, []byte(`"filetype": "cdf,fits"`)) {
		t.Fatalf("filetype not a string:\n%s", data)
	}
}

// The client fetches index files from the catalog's own bucket: <catalog bucket>/<index path><id>_<year>.csv.
func TestClientRuleIndexInTheCatalogsBucket(t *testing.T) {
	c := sampleCatalog()
	c.Catalog[0].Index = "s3://other-bucket/MMS/"
	if !strings.Contains(strings.Join(c.Problems(), "\n"), "not in this catalog's bucket") {
		t.Fatalf("problems: %v", c.Problems())
	}
}

func TestLegacyIndexIsRead(t *testing.T) {
	in := "# startDate, key, size\n'2015-09-01T12:11:14Z','s3://b/MMS/a.cdf','4641642'\n"
	rows, err := ParseIndex(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Key != "s3://b/MMS/a.cdf" || rows[0].Size != 4641642 || !rows[0].Stop.Equal(rows[0].Start) {
		t.Fatalf("rows = %+v", rows)
	}
}

func TestIndexRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	WriteIndex(&buf, sampleRows())
	rows, err := ParseIndex(&buf)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleRows()
	for i := range want {
		if !rows[i].Start.Equal(want[i].Start) || !rows[i].Stop.Equal(want[i].Stop) || rows[i].Key != want[i].Key || rows[i].Size != want[i].Size || rows[i].Checksum != want[i].Checksum {
			t.Errorf("row %d: %+v, want %+v", i, rows[i], want[i])
		}
	}
}

func TestMergeKeepsExistingDedupesAndSorts(t *testing.T) {
	t0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	row := func(min int, key string, size int64) Row {
		return Row{Start: t0.Add(time.Duration(min) * time.Minute), Stop: t0.Add(time.Duration(min+1) * time.Minute), Key: key, Size: size}
	}
	existing := []Row{row(0, "s3://b/a", 1), row(10, "s3://b/c", 1), row(20, "s3://b/e", 1)}
	added := []Row{row(5, "s3://b/b", 2), row(10, "s3://b/c", 9), row(30, "s3://b/f", 2), row(30, "s3://b/f", 3)}
	got := Merge(existing, added, map[string]bool{"s3://b/e": true})
	var keys []string
	for _, r := range got {
		keys = append(keys, fmt.Sprintf("%s:%d", r.Key[len("s3://b/"):], r.Size))
	}
	if strings.Join(keys, " ") != "a:1 b:2 c:9 f:3" {
		t.Fatalf("merged = %v", keys)
	}
}

func TestFileTypesAreNotRenamed(t *testing.T) {
	for k, want := range map[string]string{"a/x.fts": "fits", "x.nc": "netcdf4", "x.h5": "hdf5", "x.CDF": "cdf", "x.txt": "txt", "x.weird": "other", "x.cdf.gz": "cdf"} {
		if got := FileTypeOf(k); got != want {
			t.Errorf("FileTypeOf(%q) = %q, want %q", k, got, want)
		}
	}
}

// The golden files are the exact bytes of a catalog and an index file; UPDATE_GOLDEN=1 rewrites them.
func TestGoldenFiles(t *testing.T) {
	cat, _ := sampleCatalog().Marshal()
	var idx bytes.Buffer
	WriteIndex(&idx, sampleRows())
	for name, got := range map[string][]byte{"catalog.golden.json": cat, "MMS_2015.golden.csv": idx.Bytes()} {
		path := filepath.Join("testdata", name)
		if os.Getenv("UPDATE_GOLDEN") != "" {
			os.WriteFile(path, got, 0o644)
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (UPDATE_GOLDEN=1 go test ./internal/cloudcatalog after an intended change):\n%s", name, got)
		}
	}
}

// clientParseTime tries the client's three strptime formats with exact=False (the format may match a
// substring; we anchor at the start, as pandas' search does for these values).
var clientFormats = []*regexp.Regexp{
	regexp.MustCompile(`\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{1,2}:\d{1,2}\.\d{1,6}Z`),
	regexp.MustCompile(`\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{1,2}:\d{1,2}Z`),
	regexp.MustCompile(`\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{1,2}Z`),
}

func clientParseTime(s string) (int, bool) {
	for i, re := range clientFormats {
		if re.MatchString(s) {
			return i, true
		}
	}
	return -1, false
}

// readLikeClient is request_cloud_catalog's read of one year's file: pandas.read_csv (first line is the
// header, quotechar "), "# " stripped from the first column name, the first four columns renamed by
// position when their names are absent, the start and stop columns parsed with one format for the
// whole column, then the filter stop >= start_date & start < stop_date.
func readLikeClient(data []byte, version float64, startDate, stopDate string) ([]map[string]string, error) {
	if version < 0.5 {
		return nil, fmt.Errorf("version %v: the client would synthesise stop", version)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, err
	}
	cols := recs[0]
	if strings.HasPrefix(cols[0], "# ") {
		cols[0] = cols[0][2:]
	}
	for i, name := range []string{"start", "stop", "datakey", "filesize"} {
		found := false
		for _, c := range cols {
			found = found || c == name
		}
		if !found {
			cols[i] = name
		}
	}
	var rows []map[string]string
	format := -1
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, c := range cols {
			m[c] = rec[i]
		}
		for _, k := range []string{"start", "stop"} {
			f, ok := clientParseTime(m[k])
			if !ok {
				return nil, fmt.Errorf("%s %q: none of the client's formats", k, m[k])
			}
			if format >= 0 && f != format {
				return nil, fmt.Errorf("%s %q: a second time format in one column", k, m[k])
			}
			format = f
		}
		rows = append(rows, m)
	}
	from, _ := ParseTime(startDate)
	to, _ := ParseTime(stopDate)
	var out []map[string]string
	for _, m := range rows {
		s, _ := ParseTime(m["start"])
		e, _ := ParseTime(m["stop"])
		if !e.Before(from) && s.Before(to) {
			out = append(out, m)
		}
	}
	return out, nil
}

// AppendTime writes exactly what FormatTime (time.Format with TimeLayout) writes.
func TestAppendTimeMatchesFormatTime(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2015, 9, 1, 12, 11, 14, 123456789, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(2020, 2, 29, 1, 2, 3, 4e6, time.FixedZone("x", 5*3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := string(AppendTime(nil, tm)), FormatTime(tm); got != want {
			t.Errorf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// liar says a length other than what it holds.
type liar struct {
	*strings.Reader
	n int
}

func (l liar) Len() int { return l.n }

// ReadAll reads everything whatever length the reader claims.
func TestReadAllReadsEverythingWhateverTheLengthSaid(t *testing.T) {
	text := strings.Repeat("2015-09-01T00:00:00Z,x\n", 1000)
	for _, n := range []int{0, 10, len(text), len(text) * 3} {
		got, err := ReadAll(liar{strings.NewReader(text), n})
		if err != nil || string(got) != text {
			t.Errorf("Len %d: %d bytes, %v", n, len(got), err)
		}
	}
}
