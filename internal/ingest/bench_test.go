package ingest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/cloudcatalog"
)

// manifestCSV is a manifest of n files spread over three years, ten seconds apart, keys offset by off.
func manifestCSV(n, off int) []byte {
	var b bytes.Buffer
	b.Grow(n * 90)
	b.WriteString("start,stop,key,filesize\n")
	t0 := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 3 * 365 * 24 * time.Hour / time.Duration(n)
	for i := 0; i < n; i++ {
		s := t0.Add(time.Duration(i) * step)
		fmt.Fprintf(&b, "%s,%s,l2/%d/f%08d.cdf,%d\n", cloudcatalog.FormatTime(s), cloudcatalog.FormatTime(s.Add(step)), s.Year(), i+off, 1000+i%5000)
	}
	return b.Bytes()
}

// indexFiles is the existing per-year index files of a dataset with n rows (keys 0..n-1 shifted by
// half a step, so the merge interleaves).
func indexFiles(n int) map[int][]byte {
	files, _ := ParseManifest(bytes.NewReader(manifestCSV(n, 0)), "m")
	rows := make([]cloudcatalog.Row, len(files))
	for i, f := range files {
		rows[i] = cloudcatalog.Row{Start: f.Start.Add(time.Second), Stop: f.Stop, Key: "s3://b/DS/" + f.Key, Size: f.Size}
	}
	out := map[int][]byte{}
	for y, rs := range cloudcatalog.ByYear(rows) {
		var buf bytes.Buffer
		cloudcatalog.WriteIndex(&buf, rs)
		out[y] = buf.Bytes()
	}
	return out
}

// buildIndex is the Index step's work for one dataset without S3: parse and check the manifest, turn
// it into rows, read the existing year files, merge, and write every year.
func buildIndex(manifest []byte, existing map[int][]byte) (rows int, err error) {
	files, probs := ParseManifest(bytes.NewReader(manifest), "DS/manifest.csv")
	if len(probs) > 0 {
		return 0, fmt.Errorf("%v", probs[0])
	}
	added := make([]cloudcatalog.Row, len(files))
	for i, f := range files {
		added[i] = cloudcatalog.Row{Start: f.Start, Stop: f.Stop, Key: "s3://b/DS/" + f.Key, Size: f.Size}
	}
	for y, rs := range cloudcatalog.ByYear(added) {
		old, err := cloudcatalog.ParseIndex(bytes.NewReader(existing[y]))
		if err != nil {
			return 0, err
		}
		merged := cloudcatalog.Merge(old, rs, nil)
		if err := cloudcatalog.WriteIndex(io.Discard, merged); err != nil {
			return 0, err
		}
		rows += len(merged)
	}
	return rows, nil
}

// BenchmarkIndexBuild1M: a 1,000,000-row manifest merged with 1,000,000 existing rows (three years).
func BenchmarkIndexBuild1M(b *testing.B) {
	manifest := manifestCSV(1_000_000, 2_000_000)
	existing := indexFiles(1_000_000)
	runtime.GC()
	b.ResetTimer()
	var peak uint64
	for i := 0; i < b.N; i++ {
		done := make(chan struct{})
		go func() { // sample the heap while it runs
			var m runtime.MemStats
			for {
				select {
				case <-done:
					return
				case <-time.After(20 * time.Millisecond):
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapInuse)
				}
			}
		}()
		n, err := buildIndex(manifest, existing)
		close(done)
		if err != nil || n != 2_000_000 {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkCatalogRebuild1000: catalog.json of a bucket with 1,000 datasets, from their records.
func BenchmarkCatalogRebuild1000(b *testing.B) {
	recs := make([]Record, 1000)
	for i := range recs {
		id := fmt.Sprintf("DS%04d", i)
		recs[i] = Record{ID: id, Bucket: "helio-public", Prefix: id + "/", Entry: cloudcatalog.Entry{
			ID: id, Index: "s3://helio-public/" + id + "/", Title: "Dataset " + id, Start: "2015-01-01T00:00:00.000Z", Stop: "2020-01-01T00:00:00.000Z",
			Modification: "2026-12-01T00:00:00.000Z", IndexType: "csv", FileType: "cdf", Description: strings.Repeat("words ", 40)}}
	}
	bucket := Bucket{Name: "helio-public", Region: "us-east-1", Access: "public", CatalogName: "Lab", Contact: "x"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := BuildCatalog(bucket, recs)
		if p := c.Problems(); len(p) > 0 {
			b.Fatal(p[0])
		}
		if _, err := c.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIngest10kFiles: a whole job of 10,000 small files through the local S3 server (validate,
// copy in batches of 200 with 64 requests in flight, index, catalog, report).
func BenchmarkIngest10kFiles(b *testing.B) {
	const n = 10_000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		r, c := newRunner(b)
		r.Config.Concurrency = 64
		job := fmt.Sprintf("bench%d", i)
		put(b, c, uploadBucket, job+"/entries.json", []byte(`[{"id": "DS", "index": "s3://helio-public/DS/", "title": "bench"}]`))
		var m strings.Builder
		m.WriteString("start,key,filesize\n")
		body := []byte("0123456789")
		upload := make(chan string, 64)
		errs := make(chan error, 1)
		for w := 0; w < 32; w++ {
			go func() {
				for k := range upload {
					put(b, c, uploadBucket, k, body)
				}
				errs <- nil
			}()
		}
		for f := 0; f < n; f++ {
			key := fmt.Sprintf("f%05d.cdf", f)
			fmt.Fprintf(&m, "2015-01-01T00:%02d:%02dZ,%s,%d\n", (f/60)%60, f%60, key, len(body))
			upload <- job + "/DS/" + key
		}
		close(upload)
		for w := 0; w < 32; w++ {
			<-errs
		}
		put(b, c, uploadBucket, job+"/DS/manifest.csv", []byte(m.String()))
		b.StartTimer()
		start := time.Now()
		rep, err := r.Run(context.Background(), job, 200)
		if err != nil || rep.Status != "succeeded" || rep.Files != n {
			b.Fatalf("%v %+v", err, rep)
		}
		b.ReportMetric(n/time.Since(start).Seconds(), "files/s")
	}
}
