package cloudcatalog

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Row is one file of a dataset's index.
type Row struct {
	Start, Stop time.Time
	// Key is the file's absolute datakey, s3://<bucket>/<key>.
	Key  string
	Size int64
	// Checksum and ChecksumAlgorithm are optional (empty when unknown).
	Checksum          string
	ChecksumAlgorithm string
}

// IndexKey is the S3 key of a dataset's index file for year: <prefix><id>_<YYYY>.csv, always .csv,
// because the client hard-codes that extension whatever indextype says.
func IndexKey(prefix, id string, year int) string {
	return fmt.Sprintf("%s%s_%04d.csv", prefix, id, year)
}

// Header is the index files' header line without checksums. The client strips "# " from the first
// column's name and then names the first four columns start, stop, datakey, filesize by position.
const Header = "# start,stop,datakey,filesize"

// WriteIndex writes rows as an index file: a header, then one line per row in the order given, with
// the checksum columns only when a row has a checksum. Fields are quoted (with ", as pandas reads
// them) only when they hold a comma, a quote or a line break.
func WriteIndex(w io.Writer, rows []Row) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	checksums := slices.ContainsFunc(rows, func(r Row) bool { return r.Checksum != "" })
	bw.WriteString(Header)
	if checksums {
		bw.WriteString(",checksum,checksum_algorithm")
	}
	bw.WriteByte('\n')
	var buf []byte
	for i := range rows {
		r := &rows[i]
		buf = buf[:0]
		buf = AppendTime(buf, r.Start)
		buf = append(buf, ',')
		buf = AppendTime(buf, r.Stop)
		buf = append(buf, ',')
		buf = appendField(buf, r.Key)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, r.Size, 10)
		if checksums {
			buf = append(buf, ',')
			buf = appendField(buf, r.Checksum)
			buf = append(buf, ',')
			buf = appendField(buf, r.ChecksumAlgorithm)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendField(buf []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(buf, s...)
	}
	return append(append(append(buf, '"'), strings.ReplaceAll(s, `"`, `""`)...), '"')
}

// ParseIndex reads an index file: stratolab's own, another provider's (an optional # header, quotes
// " or ', extra columns after the fourth), or the legacy three columns start, datakey, filesize that
// HelioCloud wrote (stop is then the start). Rows come back in file order.
func ParseIndex(r io.Reader) ([]Row, error) {
	raw, err := ReadAll(r)
	if err != nil {
		return nil, err
	}
	// One string for the whole file: keys are substrings of it, not a copy per line.
	data := OwnedString(raw)
	rows := make([]Row, 0, strings.Count(data, "\n"))
	line := 0
	checksumCol, algoCol := -1, -1
	legacy := false
	var scratch []string
	for len(data) > 0 {
		var l string
		if i := strings.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, ""
		}
		line++
		l = strings.TrimRight(l, "\r")
		if len(strings.TrimSpace(l)) == 0 {
			continue
		}
		fields, err := splitLine(l, scratch[:0])
		scratch = fields
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if line == 1 && (l[0] == '#' || !startsWithDigit(fields[0])) {
			for i, f := range fields {
				switch strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(f), "#")) {
				case "checksum":
					checksumCol = i
				case "checksum_algorithm":
					algoCol = i
				}
			}
			legacy = len(fields) == 3
			continue
		}
		if len(fields) == 3 {
			legacy = true
		}
		row, err := parseRow(fields, legacy, checksumCol, algoCol)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// ReadAll is io.ReadAll, sized in one allocation when r knows its length (Len() int, as bytes.Reader
// and an S3 body wrapped with its ContentLength do): a million-row file read by io.ReadAll's growth
// leaves about its size again in garbage.
func ReadAll(r io.Reader) ([]byte, error) {
	l, ok := r.(interface{ Len() int })
	if !ok {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, l.Len()+1)
	for {
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // longer than said: grow as io.ReadAll does
		}
	}
}

// OwnedString is b as a string without a copy. The caller gives b up: nothing may write to it after.
func OwnedString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func startsWithDigit(s string) bool {
	s = strings.Trim(strings.TrimSpace(s), `'"`)
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

func parseRow(f []string, legacy bool, checksumCol, algoCol int) (Row, error) {
	var r Row
	var err error
	need := 4
	if legacy {
		need = 3
	}
	if len(f) < need {
		return r, fmt.Errorf("%d columns, want at least %d (start, stop, datakey, filesize)", len(f), need)
	}
	if r.Start, err = ParseTime(unquote(f[0])); err != nil {
		return r, fmt.Errorf("start: %w", err)
	}
	k := 1
	if legacy {
		r.Stop = r.Start
	} else {
		if r.Stop, err = ParseTime(unquote(f[1])); err != nil {
			return r, fmt.Errorf("stop: %w", err)
		}
		k = 2
	}
	r.Key = unquote(f[k])
	if r.Size, err = strconv.ParseInt(unquote(f[k+1]), 10, 64); err != nil || r.Size < 0 {
		return r, fmt.Errorf("filesize %q is not a whole number of bytes", f[k+1])
	}
	if checksumCol >= 0 && checksumCol < len(f) {
		r.Checksum = unquote(f[checksumCol])
	}
	if algoCol >= 0 && algoCol < len(f) {
		r.ChecksumAlgorithm = unquote(f[algoCol])
	}
	return r, nil
}

// splitLine splits one CSV line into buf; the fast path is a line without double quotes.
func splitLine(l string, buf []string) ([]string, error) {
	if strings.IndexByte(l, '"') < 0 {
		for {
			i := strings.IndexByte(l, ',')
			if i < 0 {
				return append(buf, l), nil
			}
			buf = append(buf, l[:i])
			l = l[i+1:]
		}
	}
	cr := csv.NewReader(strings.NewReader(l))
	cr.LazyQuotes = true
	cr.FieldsPerRecord = -1
	return cr.Read()
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return s[1 : len(s)-1]
	}
	return s
}

// Compare orders rows by start, then by key: the index files' order.
func Compare(a, b *Row) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	return strings.Compare(a.Key, b.Key)
}

// Sort orders rows by start, then key.
func Sort(rows []Row) { slices.SortFunc(rows, func(a, b Row) int { return Compare(&a, &b) }) }

// Merge returns existing with every row of added (which replaces an existing row of the same key) and
// without the keys in drop, deduplicated on the key (the last of added wins) and sorted by start,
// then key. existing need not be sorted. To hold a million rows twice in little memory, Merge works
// in the storage of its arguments: both are reordered and overwritten, and must not be used after.
func Merge(existing, added []Row, drop map[string]bool) []Row {
	pos := make(map[string]int, len(added))
	add := added[:0]
	for _, r := range added {
		if drop[r.Key] {
			continue
		}
		if i, ok := pos[r.Key]; ok {
			add[i] = r
			continue
		}
		pos[r.Key] = len(add)
		add = append(add, r)
	}
	keep := existing[:0]
	for _, r := range existing {
		if _, replaced := pos[r.Key]; !replaced && !drop[r.Key] {
			keep = append(keep, r)
		}
	}
	pos = nil
	if !slices.IsSortedFunc(keep, func(a, b Row) int { return Compare(&a, &b) }) {
		// Not a file stratolab wrote: keep the last row of each key, then sort.
		seen := make(map[string]int, len(keep))
		uniq := keep[:0]
		for _, r := range keep {
			if i, ok := seen[r.Key]; ok {
				uniq[i] = r
				continue
			}
			seen[r.Key] = len(uniq)
			uniq = append(uniq, r)
		}
		keep = uniq
		Sort(keep)
	}
	Sort(add)
	out := make([]Row, 0, len(keep)+len(add))
	i, j := 0, 0
	for i < len(keep) && j < len(add) {
		if Compare(&keep[i], &add[j]) <= 0 {
			out = append(out, keep[i])
			i++
		} else {
			out = append(out, add[j])
			j++
		}
	}
	out = append(out, keep[i:]...)
	return append(out, add[j:]...)
}

// ByYear splits rows by the UTC year of their start, the year whose file lists them. It sorts rows
// in place (by start, then key) and returns sub-slices of it.
func ByYear(rows []Row) map[int][]Row {
	Sort(rows)
	out := map[int][]Row{}
	for i := 0; i < len(rows); {
		y := rows[i].Start.UTC().Year()
		j := i + 1
		for j < len(rows) && rows[j].Start.UTC().Year() == y {
			j++
		}
		out[y] = rows[i:j:j]
		i = j
	}
	return out
}

// YearSummary is what a dataset's record keeps of one year's index file, so that the dataset's start
// and stop are recomputed from every year without reading every file.
type YearSummary struct {
	Files int    `json:"files"`
	Bytes int64  `json:"bytes"`
	Start string `json:"start"`
	Stop  string `json:"stop"`
	// Multiyear is set when a file of this year stops in a later year.
	Multiyear bool `json:"multiyear,omitempty"`
	// FileTypes are the file types of the year's files (sorted, distinct).
	FileTypes []string `json:"filetypes,omitempty"`
}

// Summarize describes one year's rows (sorted by start).
func Summarize(rows []Row) YearSummary {
	var s YearSummary
	if len(rows) == 0 {
		return s
	}
	minStart, maxStop := rows[0].Start, rows[0].Stop
	types := map[string]bool{}
	for _, r := range rows {
		s.Files++
		s.Bytes += r.Size
		if r.Start.Before(minStart) {
			minStart = r.Start
		}
		if r.Stop.After(maxStop) {
			maxStop = r.Stop
		}
		if r.Stop.UTC().Year() > r.Start.UTC().Year() {
			s.Multiyear = true
		}
		types[FileTypeOf(r.Key)] = true
	}
	s.Start, s.Stop = FormatTime(minStart), FormatTime(maxStop)
	for t := range types {
		s.FileTypes = append(s.FileTypes, t)
	}
	slices.Sort(s.FileTypes)
	return s
}

// FileTypeOf maps a file name to the spec's file type by extension; files are never renamed.
func FileTypeOf(key string) string {
	name := strings.ToLower(key[strings.LastIndexByte(key, '/')+1:])
	name = strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".zip")
	ext := name[strings.LastIndexByte(name, '.')+1:]
	switch ext {
	case "fits", "fit", "fts":
		return "fits"
	case "csv":
		return "csv"
	case "cdf":
		return "cdf"
	case "nc", "nc4", "netcdf4":
		return "netcdf4"
	case "nc3", "ncd", "netcdf", "ncdf", "netcdf3":
		return "netcdf3"
	case "h5", "hdf5", "hdf", "he5":
		return "hdf5"
	case "txt", "dat", "asc":
		return "txt"
	case "bin", "raw":
		return "binary"
	case "datamap":
		return "datamap"
	}
	return "other"
}
