package ingest

import (
	"fmt"
	"strings"
	"testing"
)

func problems(ps []Problem) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return strings.Join(out, "\n")
}

func TestParseEntriesReportsEveryProblemWithItsLine(t *testing.T) {
	in := `[
  {"id": "MMS", "index": "s3://helio-public/MMS/", "title": "MMS data", "creation": "2015-09-01T00:00:00"},
  {"id": "bad id", "index": "s3://helio-public/X", "title": ""},
  {"id": "MMS", "index": "s3://helio-public/MMS2/", "title": "again"}
]`
	entries, ps := ParseEntries([]byte(in))
	all := problems(ps)
	for _, want := range []string{
		`entries.json:3: entry 1: id "bad id" must be letters`, `entries.json:3: entry 1 (bad id): index "s3://helio-public/X" is not s3://<bucket>/<prefix>/`,
		`entries.json:3: entry 1 (bad id): title is required`, `entries.json:4: entry 2: id "MMS" is already entry 0`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("lacks %q:\n%s", want, all)
		}
	}
	if entries[0].Creation != "2015-09-01T00:00:00.000Z" || entries[0].IndexType != "csv" {
		t.Fatalf("not normalized: %+v", entries[0])
	}
}

func TestParseEntriesRefusesUnknownKeys(t *testing.T) {
	_, ps := ParseEntries([]byte(`[{"id": "MMS", "index": "s3://b-1/MMS/", "title": "t", "about_url": "x"}]`))
	if !strings.Contains(problems(ps), `unknown field "about_url"`) {
		t.Fatal(problems(ps))
	}
}

// HelioCloud's parser dropped rows with more than three fields and kept "\r" in sizes.
func TestParseManifestReadsCRLFQuotesCommasAndExtraColumns(t *testing.T) {
	in := "#start, stop, key, filesize, checksum, checksum_algorithm, quality\r\n" +
		"2015-09-01T12:11:14Z,2015-09-01T12:12:14Z,\"a/with,comma.cdf\",10,abc,md5,good\r\n" +
		"2015-09-01T12:13:14.5Z,,b/ünïcode.cdf,11,,,bad\r\n"
	files, ps := ParseManifest(strings.NewReader(in), "MMS/manifest.csv")
	if len(ps) > 0 {
		t.Fatal(problems(ps))
	}
	if len(files) != 2 || files[0].Key != "a/with,comma.cdf" || files[0].Size != 10 || files[0].ChecksumAlgorithm != "md5" ||
		files[1].Key != "b/ünïcode.cdf" || !files[1].Stop.Equal(files[1].Start) || files[1].Start.Nanosecond() != 500_000_000 {
		t.Fatalf("%+v", files)
	}
}

func TestParseManifestNamesEveryBadRow(t *testing.T) {
	in := "start,key,filesize\n" +
		"2015-09-01T12:00:00Z,a.cdf,1\n" +
		"yesterday,b.cdf,1\n" +
		"2015-09-01T12:00:00Z,/abs.cdf,1\n" +
		"2015-09-01T12:00:00Z,a.cdf,1\n" +
		"2015-09-01T12:00:00Z,c.cdf,-4\n"
	_, ps := ParseManifest(strings.NewReader(in), "X/manifest.csv")
	all := problems(ps)
	for _, want := range []string{"X/manifest.csv:3: start:", `X/manifest.csv:4: key "/abs.cdf" must be relative`, `X/manifest.csv:5: key "a.cdf" is already on line 2`, `X/manifest.csv:6: filesize "-4"`} {
		if !strings.Contains(all, want) {
			t.Errorf("lacks %q:\n%s", want, all)
		}
	}
}

func TestParseManifestNeedsItsColumns(t *testing.T) {
	_, ps := ParseManifest(strings.NewReader("time,size\n"), "X/manifest.csv")
	if !strings.Contains(problems(ps), "X/manifest.csv:1: header has no key column") {
		t.Fatal(problems(ps))
	}
}

func TestParseDrops(t *testing.T) {
	_, ps := ParseDrops([]byte(`[{"id": "A", "keys": ["x.cdf"], "all": true}, {"id": "B"}, {"id": "C", "keys": ["../x"]}]`))
	all := problems(ps)
	for _, want := range []string{"entry 0 (A): give either keys or all: true", "entry 1 (B): give either keys or all: true", `entry 2 (C): key "../x"`} {
		if !strings.Contains(all, want) {
			t.Errorf("lacks %q:\n%s", want, all)
		}
	}
}

// The manifest's fast path (no double quotes: split in place) reads what encoding/csv reads: the
// same files and the same problems on the same lines (CRLF, blank lines, spaces, a # header).
func TestManifestFastPathReadsWhatEncodingCSVReads(t *testing.T) {
	plain := "#start, stop, key, filesize\r\n2015-09-01T00:00:00Z,,a.cdf,1\r\n\r\n 2015-09-01T00:01:00Z , , b c.cdf , 2\n2015-09-01T00:02:00Z,,a.cdf,3\nbad,,c.cdf,x\n"
	// The same text with one quoted field sends the whole file through encoding/csv.
	quoted := strings.Replace(plain, ",,a.cdf,1", `,,"a.cdf",1`, 1)
	f1, p1 := ParseManifest(strings.NewReader(plain), "m.csv")
	f2, p2 := ParseManifest(strings.NewReader(quoted), "m.csv")
	if fmt.Sprint(f1) != fmt.Sprint(f2) || fmt.Sprint(p1) != fmt.Sprint(p2) {
		t.Fatalf("fast path:\n%v\n%v\nencoding/csv:\n%v\n%v", f1, p1, f2, p2)
	}
	if len(f1) != 2 || f1[1].Key != "b c.cdf" || f1[1].Line != 4 || len(p1) != 3 {
		t.Fatalf("files %+v, problems %v", f1, p1)
	}
}

// S3 keys are at most 1,024 bytes (Amazon S3 User Guide, "Naming Amazon S3 objects"): a manifest key
// may be 900, but in the upload bucket the job's and the dataset's names come before it.
func TestUploadKeyProblemsNamesKeysTooLongForTheJob(t *testing.T) {
	long := "MMS/" + strings.Repeat("k", 900)
	lj := &LocalJob{Files: []LocalFile{{Key: "MMS/ok.cdf"}, {Key: long}}}
	if p := UploadKeyProblems("job1", lj); len(p) != 0 {
		t.Fatalf("905+5 bytes fit: %v", p)
	}
	job := strings.Repeat("j", 120)
	p := UploadKeyProblems(job, lj)
	if len(p) != 1 || p[0].File != long || !strings.Contains(p[0].Message, "is 1025 bytes; S3 keys are at most 1024") {
		t.Fatalf("got %v", p)
	}
}

// The uploader policy denies PutObject on <upload>/*/report.json and <upload>/*/.work/*, and an IAM
// ARN's * matches "/" too (IAM User Guide, "IAM JSON policy elements: Resource"): such a data file
// would get AccessDenied at any depth, so it is refused before the upload.
func TestUploadKeyProblemsRefuseNamesTheUploaderPolicyDenies(t *testing.T) {
	lj := &LocalJob{Files: []LocalFile{{Key: "MMS/2015/report.json"}, {Key: "MMS/.work/x.cdf"}, {Key: "MMS/report.json.bak"}, {Key: "MMS/work/report.txt"}, {Key: "MMS/a.work/x"}}}
	p := UploadKeyProblems("job1", lj)
	var files []string
	for _, x := range p {
		files = append(files, x.File)
		if !strings.Contains(x.Message, "uploader policy refuses it") {
			t.Errorf("message: %s", x.Message)
		}
	}
	if strings.Join(files, ",") != "MMS/2015/report.json,MMS/.work/x.cdf" {
		t.Fatalf("refused %v", files)
	}
}
