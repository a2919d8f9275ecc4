// Package ingest is the registry's ingest job: the job folder's format (entries.json, one
// manifest.csv per dataset, an optional drop.json), and the steps the Step Functions workflow runs
// (Validate, Copy, Index, Catalog, Report) through the AWS SDK for Go v2. The CLI validates a job
// folder on disk with the same parser, before anything is uploaded.
//
// A job folder, locally and under <job>/ in the upload bucket:
//
//	entries.json             a JSON list of dataset entries (id, index, title and the spec's optional keys)
//	<id>/manifest.csv        one per entry: start, stop (optional), key, filesize, checksum, checksum_algorithm
//	<id>/<key>               the data files, keys relative to <id>/
//	drop.json                optional: [{"id": "X", "keys": ["a/b.cdf"]}, {"id": "Y", "all": true}]
//	_READY                   the marker whose upload starts the job (written last)
//
// The ingest writes report.json beside them, and deletes the rest only after a successful job.
package ingest

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stratolab/stratolab/internal/cloudcatalog"
)

// Names of the job folder's files.
const (
	EntriesFile  = "entries.json"
	ManifestFile = "manifest.csv"
	DropFile     = "drop.json"
	ReportFile   = "report.json"
	MarkerFile   = "_READY"
	// WorkDir holds what the workflow writes for itself (the copy list).
	WorkDir = ".work/"
)

// Problem is one thing wrong with a job, as "file:line: message" (line 0: the file as a whole).
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return p.File + ": " + p.Message
}

// Entry is one dataset entry of entries.json: the catalog's metadata that a provider writes. start,
// stop, modification, filetype and multiyear are computed from the index and may be left out.
type Entry struct {
	ID          string `json:"id"`
	Index       string `json:"index"`
	Title       string `json:"title"`
	IndexType   string `json:"indextype,omitempty"`
	Description string `json:"description,omitempty"`
	Resource    string `json:"resource,omitempty"`
	Creation    string `json:"creation,omitempty"`
	Expiration  string `json:"expiration,omitempty"`
	Verified    string `json:"verified,omitempty"`
	Citation    string `json:"citation,omitempty"`
	Contact     string `json:"contact,omitempty"`
	About       string `json:"about,omitempty"`
	// Computed keys, accepted (and ignored) so that a catalog entry can be fed back.
	Start        string `json:"start,omitempty"`
	Stop         string `json:"stop,omitempty"`
	Modification string `json:"modification,omitempty"`
	FileType     string `json:"filetype,omitempty"`
	Multiyear    *bool  `json:"multiyear,omitempty"`
}

// ParseEntries reads entries.json. Unknown keys are problems (HelioCloud silently kept them), as are
// bad ids, indexes that are not s3://<bucket>/<prefix>/, duplicate ids and optional times that are
// not times. Times are normalized to cloudcatalog.TimeLayout.
func ParseEntries(data []byte) ([]Entry, []Problem) {
	var probs []Problem
	bad := func(line int, f string, a ...any) {
		probs = append(probs, Problem{File: EntriesFile, Line: line, Message: fmt.Sprintf(f, a...)})
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var entries []Entry
	if err := dec.Decode(&entries); err != nil {
		line := 0
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line = lineAt(data, se.Offset)
		case errors.As(err, &te):
			line = lineAt(data, te.Offset)
		}
		bad(line, "%v (a JSON list of entries such as [{\"id\": \"MMS\", \"index\": \"s3://bucket/MMS/\", \"title\": \"MMS data\"}])", err)
		return nil, probs
	}
	if len(entries) == 0 {
		bad(0, "lists no dataset")
	}
	lines := entryLines(data)
	seen := map[string]int{}
	for i := range entries {
		e := &entries[i]
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		if !cloudcatalog.IDRe.MatchString(e.ID) {
			bad(line, "entry %d: id %q must be letters, digits, dashes and underscores", i, e.ID)
		} else if j, dup := seen[e.ID]; dup {
			bad(line, "entry %d: id %q is already entry %d", i, e.ID, j)
		}
		seen[e.ID] = i
		if _, _, err := cloudcatalog.SplitIndex(e.Index); err != nil {
			bad(line, "entry %d (%s): %v", i, e.ID, err)
		}
		if strings.TrimSpace(e.Title) == "" {
			bad(line, "entry %d (%s): title is required", i, e.ID)
		}
		if e.IndexType == "" {
			e.IndexType = "csv"
		}
		if e.IndexType != "csv" {
			bad(line, "entry %d (%s): indextype %q: this registry writes csv indexes (the only kind the client reads)", i, e.ID, e.IndexType)
		}
		for _, f := range []struct {
			name string
			v    *string
		}{{"creation", &e.Creation}, {"expiration", &e.Expiration}, {"verified", &e.Verified}} {
			if *f.v == "" {
				continue
			}
			t, err := cloudcatalog.ParseTime(*f.v)
			if err != nil {
				bad(line, "entry %d (%s): %s: %v", i, e.ID, f.name, err)
				continue
			}
			*f.v = cloudcatalog.FormatTime(t)
		}
	}
	return entries, probs
}

func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// entryLines finds the line of each top-level object of a JSON list.
func entryLines(data []byte) []int {
	var out []int
	depth, inStr, esc := 0, false, false
	line := 1
	for _, c := range data {
		switch {
		case c == '\n':
			line++
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '[' || c == '{':
			if depth == 1 && c == '{' {
				out = append(out, line)
			}
			depth++
		case c == ']' || c == '}':
			depth--
		}
	}
	return out
}

// File is one manifest row.
type File struct {
	Start, Stop time.Time
	// Key is relative to the dataset's folder <job>/<id>/ and becomes <index prefix><key>.
	Key               string
	Size              int64
	Checksum          string
	ChecksumAlgorithm string
	Line              int
}

// ChecksumAlgorithms are those a manifest may name; the ingest verifies md5 (against a single-part
// upload's ETag) and sha256 (against S3's stored checksum, when the upload sent one).
var ChecksumAlgorithms = []string{"md5", "sha1", "sha256", "crc32", "crc32c"}

// ParseManifest reads a dataset's manifest.csv. The header (a leading # is allowed) names the columns:
// start (or time), key (or s3key, datakey), filesize (or size), and optionally stop, checksum and
// checksum_algorithm, in any order; extra columns are ignored. Fields are CSV (quotes, commas in keys
// and CRLF line ends work). Every bad row is a problem; the rows that parse are returned.
func ParseManifest(r io.Reader, file string) ([]File, []Problem) {
	var probs []Problem
	bad := func(line int, f string, a ...any) {
		probs = append(probs, Problem{File: file, Line: line, Message: fmt.Sprintf(f, a...)})
	}
	raw, err := cloudcatalog.ReadAll(r)
	if err != nil {
		bad(0, "cannot read it: %v", err)
		return nil, probs
	}
	next, rows := records(raw)
	head, _, err := next()
	if err != nil {
		bad(1, "no header line (want start,stop,key,filesize[,checksum,checksum_algorithm]): %v", err)
		return nil, probs
	}
	col := map[string]int{}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(h), "#")))
		switch h {
		case "time", "startdate":
			h = "start"
		case "s3key", "datakey":
			h = "key"
		case "size":
			h = "filesize"
		}
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	for _, need := range []string{"start", "key", "filesize"} {
		if _, ok := col[need]; !ok {
			bad(1, "header has no %s column (want start,stop,key,filesize[,checksum,checksum_algorithm])", need)
		}
	}
	if len(probs) > 0 {
		return nil, probs
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	files := make([]File, 0, rows)
	seen := make(map[string]int, rows)
	for {
		rec, line, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			bad(line, "%v", err)
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		f := File{Line: line}
		ok := true
		if f.Start, err = cloudcatalog.ParseTime(get(rec, "start")); err != nil {
			bad(line, "start: %v", err)
			ok = false
		}
		if s := get(rec, "stop"); s == "" {
			f.Stop = f.Start
		} else if f.Stop, err = cloudcatalog.ParseTime(s); err != nil {
			bad(line, "stop: %v", err)
			ok = false
		} else if ok && f.Stop.Before(f.Start) {
			bad(line, "stop %s is before start %s", s, get(rec, "start"))
			ok = false
		}
		f.Key = get(rec, "key")
		if why := keyProblem(f.Key); why != "" {
			bad(line, "key %q %s", f.Key, why)
			ok = false
		} else if first, dup := seen[f.Key]; dup {
			bad(line, "key %q is already on line %d", f.Key, first)
			ok = false
		}
		if f.Size, err = strconv.ParseInt(get(rec, "filesize"), 10, 64); err != nil || f.Size < 0 {
			bad(line, "filesize %q is not a whole number of bytes", get(rec, "filesize"))
			ok = false
		}
		f.Checksum, f.ChecksumAlgorithm = get(rec, "checksum"), strings.ToLower(get(rec, "checksum_algorithm"))
		if f.Checksum != "" && f.ChecksumAlgorithm == "" {
			f.ChecksumAlgorithm = "md5"
		}
		if f.Checksum != "" && !slices.Contains(ChecksumAlgorithms, f.ChecksumAlgorithm) {
			bad(line, "checksum_algorithm %q is not one of %s", f.ChecksumAlgorithm, strings.Join(ChecksumAlgorithms, ", "))
			ok = false
		}
		if ok {
			seen[f.Key] = line
			files = append(files, f)
		}
	}
	if len(files) == 0 && len(probs) == 0 {
		bad(0, "lists no file")
	}
	return files, probs
}

// records reads CSV records from data, with each record's line number, and says how many lines
// there are (to size what the caller builds). A file without double quotes, the usual manifest, is
// split in place: fields are substrings of one string, with no allocation per line. Any other goes
// through encoding/csv (quoted fields, commas and line breaks in keys).
func records(data []byte) (next func() ([]string, int, error), lines int) {
	lines = bytes.Count(data, []byte{'\n'}) + 1
	if bytes.IndexByte(data, '"') >= 0 {
		cr := csv.NewReader(bytes.NewReader(data))
		cr.FieldsPerRecord = -1
		cr.ReuseRecord = true
		return func() ([]string, int, error) {
			rec, err := cr.Read()
			line, _ := cr.FieldPos(0)
			return rec, line, err
		}, lines
	}
	text := cloudcatalog.OwnedString(data) // ParseManifest read data itself and never writes to it
	line := 0
	var buf []string
	return func() ([]string, int, error) {
		for len(text) > 0 {
			var l string
			if i := strings.IndexByte(text, '\n'); i >= 0 {
				l, text = text[:i], text[i+1:]
			} else {
				l, text = text, ""
			}
			line++
			l = strings.TrimSuffix(l, "\r")
			if l == "" {
				continue // encoding/csv skips empty lines too
			}
			buf = buf[:0]
			for {
				i := strings.IndexByte(l, ',')
				if i < 0 {
					buf = append(buf, l)
					break
				}
				buf = append(buf, l[:i])
				l = l[i+1:]
			}
			return buf, line, nil
		}
		return nil, line, io.EOF
	}, lines
}

func keyProblem(k string) string {
	switch {
	case k == "":
		return "is empty"
	case strings.HasPrefix(k, "/") || strings.HasPrefix(k, "s3://"):
		return "must be relative to the dataset's folder (such as mms1/2015/a.cdf)"
	case path.Clean(k) != k || strings.HasPrefix(k, "../") || k == "..":
		return "is not a clean relative path (no ., .. or //)"
	case k == ManifestFile:
		return "is the manifest itself"
	case len(k) > 900:
		return "is too long (S3 keys are at most 1024 bytes with the dataset's prefix)"
	}
	return ""
}

// Drop is one entry of drop.json: files of a dataset, or the whole dataset, to retract.
type Drop struct {
	ID   string   `json:"id"`
	Keys []string `json:"keys,omitempty"`
	All  bool     `json:"all,omitempty"`
}

// ParseDrops reads drop.json. Keys are relative to the dataset's index prefix, as manifests write them.
func ParseDrops(data []byte) ([]Drop, []Problem) {
	var drops []Drop
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&drops); err != nil {
		return nil, []Problem{{File: DropFile, Message: fmt.Sprintf("%v (a JSON list such as [{\"id\": \"MMS\", \"keys\": [\"a/b.cdf\"]}, {\"id\": \"OLD\", \"all\": true}])", err)}}
	}
	var probs []Problem
	for i, d := range drops {
		if !cloudcatalog.IDRe.MatchString(d.ID) {
			probs = append(probs, Problem{File: DropFile, Message: fmt.Sprintf("entry %d: id %q is not a dataset id", i, d.ID)})
		}
		if d.All == (len(d.Keys) > 0) {
			probs = append(probs, Problem{File: DropFile, Message: fmt.Sprintf("entry %d (%s): give either keys or all: true", i, d.ID)})
		}
		for _, k := range d.Keys {
			if why := keyProblem(k); why != "" {
				probs = append(probs, Problem{File: DropFile, Message: fmt.Sprintf("entry %d (%s): key %q %s", i, d.ID, k, why)})
			}
		}
	}
	return drops, probs
}
