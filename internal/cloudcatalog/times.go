// Package cloudcatalog reads and writes the CloudCatalog 1.1 format (heliocloud-data/cloudcatalog,
// docs/cloudcatalog-spec-1.1.md) the way the official Python client (src/cloudcatalog.py, 1.1.0) reads
// it: the per-bucket catalog.json, the per-dataset, per-year index files <index><id>_<YYYY>.csv, and
// the restricted ISO 8601 times both use.
//
// It is pure Go with no AWS or CDK import: the ingest logic, the Lambda handlers and the CLI use it.
package cloudcatalog

import (
	"fmt"
	"regexp"
	"time"
)

// TimeLayout is the one time format stratolab writes, everywhere: restricted ISO 8601 with
// milliseconds and a trailing Z. The client parses an index's whole start (and stop) column with one
// of three layouts and falls back to the next only when a value fails, so a file, and the years read
// together, must never mix layouts: writing a single one is the rule.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// restrictedRe is the client's validator (src/utils/validator.py, and CloudCatalog.date2datetime):
// at least year, month, day and hour, then optional minutes, seconds and fraction, then Z.
var restrictedRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?Z$`)

// IsRestricted reports whether s is a restricted ISO 8601 time as the client's validator accepts it.
func IsRestricted(s string) bool { return restrictedRe.MatchString(s) }

// FormatTime writes t in UTC as TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// AppendTime appends t as FormatTime writes it, without time.Format's layout parsing (the index
// files hold millions of times). Years outside 0000-9999 fall back to Format.
func AppendTime(buf []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(buf, TimeLayout)
	}
	h, mi, sec := t.Clock()
	ms := t.Nanosecond() / 1e6
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	buf = append(buf, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	buf = append(two(buf, int(mo)), '-')
	buf = append(two(buf, d), 'T')
	buf = append(two(buf, h), ':')
	buf = append(two(buf, mi), ':')
	buf = append(two(buf, sec), '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
	return buf
}

// ParseTime reads a time written by a data provider: any restricted ISO 8601 time (truncated forms
// included, such as 2015-09-01T12Z), RFC 3339 with an offset (2015-09-01T12:11:14+00:00), a time
// without an offset (taken as UTC), or a bare date (2015-09-01, midnight UTC). The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	if t, ok := parseFast(s); ok {
		return t, nil
	}
	if restrictedRe.MatchString(s) {
		body := s[:len(s)-1]
		for _, layout := range []string{"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(layout, body); err == nil {
				return t.UTC(), nil
			}
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	// No offset at all (HelioCloud's entries template writes 2015-09-01T00:00:00): UTC.
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (restricted ISO 8601 such as 2015-09-01T12:11:14.000Z or 2015-09-01T12:11:14Z)", s)
}

// parseFast reads yyyy-mm-ddThh:mm:ss[.fff]Z without allocating: the index files' own layout, read a
// million times per ingest.
func parseFast(s string) (time.Time, bool) {
	n := len(s)
	if n != 20 && n != 24 || s[n-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, w int) (int, bool) {
		v := 0
		for _, c := range []byte(s[i : i+w]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	se, ok6 := num(17, 2)
	ms, ok7 := 0, true
	if n == 24 {
		if s[19] != '.' {
			return time.Time{}, false
		}
		ms, ok7 = num(20, 3)
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, ms*int(time.Millisecond), time.UTC)
	if t.Day() != d { // February 30th and the like
		return time.Time{}, false
	}
	return t, true
}
