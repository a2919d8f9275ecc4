package cloudcatalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Version is the version the catalogs say they follow. The client reads it with float(catalog["version"])
// (after trying "Cloudy"), and below 0.5 it treats index files as the legacy three columns: so it is a
// string that parses as a float, never "1.1.0".
const Version = "1.1"

// Status codes of a catalog (§2 of the spec): the client raises UnavailableData on 1400.
const (
	StatusOK          = 1200
	StatusUnavailable = 1400
)

// Status is catalog.json's status: an object, as the client reads catalog["status"]["code"].
type Status struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Catalog is one bucket's catalog.json.
type Catalog struct {
	Version     string  `json:"version"`
	Endpoint    string  `json:"endpoint"`
	Name        string  `json:"name"`
	Region      string  `json:"region"`
	Egress      string  `json:"egress"`
	Status      Status  `json:"status"`
	Contact     string  `json:"contact"`
	Description string  `json:"description,omitempty"`
	Citation    string  `json:"citation,omitempty"`
	Comment     string  `json:"comment,omitempty"`
	Catalog     []Entry `json:"catalog"`
}

// Entry is one dataset of a catalog. Times are restricted ISO 8601 strings (TimeLayout when stratolab
// computed them).
type Entry struct {
	ID           string `json:"id"`
	Index        string `json:"index"`
	Title        string `json:"title"`
	Start        string `json:"start"`
	Stop         string `json:"stop"`
	Modification string `json:"modification"`
	IndexType    string `json:"indextype"`
	FileType     string `json:"filetype"`
	Description  string `json:"description,omitempty"`
	Resource     string `json:"resource,omitempty"`
	Creation     string `json:"creation,omitempty"`
	Expiration   string `json:"expiration,omitempty"`
	Verified     string `json:"verified,omitempty"`
	Citation     string `json:"citation,omitempty"`
	Contact      string `json:"contact,omitempty"`
	About        string `json:"about,omitempty"`
	Multiyear    bool   `json:"multiyear,omitempty"`
}

var (
	// IDRe is the spec's dataset ID: letters, digits, dash and underscore (non-empty).
	IDRe       = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	indexRe    = regexp.MustCompile(`^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.+/)?$`)
	IndexTypes = []string{"csv", "csv-zip", "parquet"}
	// FileTypes are the spec's file types; filetype is a comma-separated list of them, without spaces.
	FileTypes = []string{"fits", "csv", "cdf", "netcdf3", "netcdf4", "hdf5", "datamap", "txt", "binary", "other"}
)

// SplitIndex returns the bucket and the key prefix of an index URI s3://bucket/prefix/ (prefix empty
// for the bucket root, else ending in /).
func SplitIndex(index string) (bucket, prefix string, err error) {
	m := indexRe.FindStringSubmatch(index)
	if m == nil {
		return "", "", fmt.Errorf("index %q is not s3://<bucket>/<prefix>/ (the client requires the trailing /)", index)
	}
	return m[1], m[2], nil
}

// Endpoint is a bucket's endpoint as catalogs and the global registry write it: s3://<bucket>/.
func Endpoint(bucket string) string { return "s3://" + bucket + "/" }

// Problems lists what is wrong with e against the spec and the client, one sentence each.
func (e *Entry) Problems() []string {
	var out []string
	if !IDRe.MatchString(e.ID) {
		out = append(out, fmt.Sprintf("id %q must be letters, digits, dashes and underscores", e.ID))
	}
	if _, _, err := SplitIndex(e.Index); err != nil {
		out = append(out, err.Error())
	}
	if strings.TrimSpace(e.Title) == "" {
		out = append(out, "title is required")
	}
	for _, f := range []struct{ name, v string }{{"start", e.Start}, {"stop", e.Stop}, {"modification", e.Modification}} {
		if !IsRestricted(f.v) {
			out = append(out, fmt.Sprintf("%s %q is not a restricted ISO 8601 time ending in Z", f.name, f.v))
		}
	}
	for _, f := range []struct{ name, v string }{{"creation", e.Creation}, {"expiration", e.Expiration}, {"verified", e.Verified}} {
		if f.v != "" && !IsRestricted(f.v) {
			out = append(out, fmt.Sprintf("%s %q is not a restricted ISO 8601 time ending in Z", f.name, f.v))
		}
	}
	if s, err := ParseTime(e.Start); err == nil {
		if t, err := ParseTime(e.Stop); err == nil && s.After(t) {
			out = append(out, fmt.Sprintf("start %s is after stop %s", e.Start, e.Stop))
		}
	}
	if !slices.Contains(IndexTypes, e.IndexType) {
		out = append(out, fmt.Sprintf("indextype %q is not one of %s", e.IndexType, strings.Join(IndexTypes, ", ")))
	}
	if e.FileType == "" {
		out = append(out, "filetype is required (comma-separated, from "+strings.Join(FileTypes, ",")+")")
	}
	for _, f := range strings.Split(e.FileType, ",") {
		if e.FileType != "" && !slices.Contains(FileTypes, f) {
			out = append(out, fmt.Sprintf("filetype %q is not one of %s (comma-separated, no spaces)", f, strings.Join(FileTypes, ",")))
		}
	}
	return out
}

// Problems lists what is wrong with c against the spec and the client.
func (c *Catalog) Problems() []string {
	var out []string
	if !strings.HasPrefix(c.Endpoint, "s3://") || !strings.HasSuffix(c.Endpoint, "/") || strings.Count(c.Endpoint, "/") != 3 {
		out = append(out, fmt.Sprintf("endpoint %q is not a bucket root s3://<bucket>/", c.Endpoint))
	}
	if c.Name == "" {
		out = append(out, "name is required")
	}
	if c.Status.Code != StatusOK && c.Status.Code != StatusUnavailable {
		out = append(out, fmt.Sprintf("status.code %d is not 1200 or 1400", c.Status.Code))
	}
	seen := map[string]bool{}
	for i := range c.Catalog {
		e := &c.Catalog[i]
		for _, p := range e.Problems() {
			out = append(out, fmt.Sprintf("catalog[%d] (%s): %s", i, e.ID, p))
		}
		if seen[e.ID] {
			out = append(out, fmt.Sprintf("catalog[%d]: id %q appears twice (the client refuses duplicate ids)", i, e.ID))
		}
		seen[e.ID] = true
		if b, _, err := SplitIndex(e.Index); err == nil && Endpoint(b) != c.Endpoint {
			out = append(out, fmt.Sprintf("catalog[%d] (%s): index %s is not in this catalog's bucket %s (the client reads indexes from the catalog's bucket)", i, e.ID, e.Index, c.Endpoint))
		}
	}
	return out
}

// Marshal writes c as catalog.json: entries sorted by id, two-space indentation, a final newline. The
// same catalog always gives the same bytes.
func (c *Catalog) Marshal() ([]byte, error) {
	cp := *c
	cp.Catalog = slices.Clone(c.Catalog)
	if cp.Catalog == nil {
		cp.Catalog = []Entry{}
	}
	slices.SortFunc(cp.Catalog, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&cp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseCatalog reads a catalog.json and checks it the way the client does: top-level status and
// catalog, status.code readable, each entry's id, index, title, start and stop, and an index starting
// with s3:// or http and ending in /. It returns the first problem, as the client raises on the first.
func ParseCatalog(data []byte) (*Catalog, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("catalog.json: %w", err)
	}
	for _, k := range []string{"status", "catalog"} {
		if _, ok := raw[k]; !ok {
			return nil, fmt.Errorf("catalog.json: missing %q", k)
		}
	}
	var st struct {
		Code *int `json:"code"`
	}
	if err := json.Unmarshal(raw["status"], &st); err != nil || st.Code == nil {
		return nil, fmt.Errorf("catalog.json: status must be an object with a numeric code, such as {\"code\": 1200, \"message\": \"OK\"}")
	}
	var entries []map[string]any
	if err := json.Unmarshal(raw["catalog"], &entries); err != nil {
		return nil, fmt.Errorf("catalog.json: catalog must be a list of entries: %w", err)
	}
	for i, e := range entries {
		for _, k := range []string{"id", "index", "title", "start", "stop"} {
			if _, ok := e[k]; !ok {
				return nil, fmt.Errorf("catalog.json: catalog[%d] has no %q", i, k)
			}
		}
		loc, _ := e["index"].(string)
		if !(strings.HasPrefix(loc, "s3://") || strings.HasPrefix(loc, "http")) || !strings.HasSuffix(loc, "/") {
			return nil, fmt.Errorf("catalog.json: catalog[%d] index %q must start with s3:// or http and end with /", i, loc)
		}
	}
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("catalog.json: %w", err)
	}
	return &c, nil
}

// RegistryEntry is a bucket's entry in HelioDataRegistry.json, the global list of catalogs.
type RegistryEntry struct {
	Endpoint string `json:"endpoint"`
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Region   string `json:"region"`
}
