package ingest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/stratolab/stratolab/internal/s3local"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stratolab/stratolab/internal/cloudcatalog"
)

// fakeS3 starts an S3-compatible server in the test and returns the real SDK client pointed at it.
func fakeS3(t testing.TB, buckets ...string) *s3.Client { return s3local.New(t, buckets...) }

const (
	uploadBucket = "lab-registry-upload"
	publicBucket = "helio-public"
	privBucket   = "helio-private"
)

func newRunner(t testing.TB) (*Runner, *s3.Client) {
	c := fakeS3(t, uploadBucket, publicBucket, privBucket)
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	return &Runner{
		S3: c, Store: NewMemoryStore(),
		Config: Config{UploadBucket: uploadBucket, AllowRetraction: true, Buckets: []Bucket{
			{Name: publicBucket, Region: "us-east-1", Access: "public", CatalogName: "Lab open data", Contact: "data@example.org"},
			{Name: privBucket, Region: "us-east-1", Access: "private", CatalogName: "Lab private", Contact: "data@example.org"},
		}},
		Now: func() time.Time { return clock },
	}, c
}

func put(t testing.TB, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

func get(t testing.TB, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	return b
}

func exists(c *s3.Client, bucket, key string) bool {
	_, err := c.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	return err == nil
}

// uploadJob puts a job with one dataset whose files are named by start time (minutes after t0).
func uploadJob(t testing.TB, c *s3.Client, job, id string, t0 time.Time, minutes []int, extraManifest string) {
	t.Helper()
	put(t, c, uploadBucket, job+"/entries.json", []byte(fmt.Sprintf(`[{"id": %q, "index": "s3://%s/%s/", "title": "%s data", "contact": "Dr. Soandso"}]`, id, publicBucket, id, id)))
	var m strings.Builder
	m.WriteString("#start, stop, key, filesize, checksum\r\n")
	for _, min := range minutes {
		start := t0.Add(time.Duration(min) * time.Minute)
		key := fmt.Sprintf("l2/%d/f_%s.cdf", start.Year(), start.Format("20060102T1504"))
		body := []byte("data " + key)
		sum := md5.Sum(body)
		put(t, c, uploadBucket, job+"/"+id+"/"+key, body)
		fmt.Fprintf(&m, "%s,%s,%s,%d,%s\r\n", cloudcatalog.FormatTime(start), cloudcatalog.FormatTime(start.Add(time.Minute)), key, len(body), hex.EncodeToString(sum[:]))
	}
	m.WriteString(extraManifest)
	put(t, c, uploadBucket, job+"/"+id+"/manifest.csv", []byte(m.String()))
	put(t, c, uploadBucket, job+"/_READY", nil)
}

func readReport(t testing.TB, c *s3.Client, job string) Report {
	var rep Report
	if err := json.Unmarshal(get(t, c, uploadBucket, job+"/report.json"), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func indexRows(t testing.TB, c *s3.Client, key string) []cloudcatalog.Row {
	rows, err := cloudcatalog.ParseIndex(bytes.NewReader(get(t, c, publicBucket, key)))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

var t0 = time.Date(2015, 9, 1, 12, 0, 0, 0, time.UTC)

func TestFirstIngestCopiesIndexesAndCatalogs(t *testing.T) {
	r, c := newRunner(t)
	uploadJob(t, c, "job1", "MMS", t0, []int{0, 10, 20}, "")
	rep, err := r.Run(context.Background(), "job1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != "succeeded" || rep.Files != 3 || len(rep.Problems) != 0 {
		t.Fatalf("report: %+v", rep)
	}
	if !exists(c, publicBucket, "MMS/l2/2015/f_20150901T1200.cdf") {
		t.Fatal("file not copied under the index prefix, with its own name")
	}
	rows := indexRows(t, c, "MMS/MMS_2015.csv")
	if len(rows) != 3 || rows[0].Key != "s3://helio-public/MMS/l2/2015/f_20150901T1200.cdf" {
		t.Fatalf("index rows: %+v", rows)
	}
	cat, err := cloudcatalog.ParseCatalog(get(t, c, publicBucket, "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	if p := cat.Problems(); len(p) != 0 {
		t.Fatalf("catalog problems: %v", p)
	}
	e := cat.Catalog[0]
	if e.ID != "MMS" || e.Index != "s3://helio-public/MMS/" || e.Start != "2015-09-01T12:00:00.000Z" || e.Stop != "2015-09-01T12:21:00.000Z" ||
		e.Modification != "2026-12-01T12:00:00.000Z" || e.FileType != "cdf" || cat.Egress != "free,public" {
		t.Fatalf("entry: %+v", e)
	}
	if exists(c, uploadBucket, "job1/entries.json") || exists(c, uploadBucket, "job1/MMS/manifest.csv") || !exists(c, uploadBucket, "job1/report.json") {
		t.Fatal("after success the uploads go and the report stays")
	}
}

func TestSecondIngestIntoTheSameYearKeepsTheFirst(t *testing.T) {
	r, c := newRunner(t)
	uploadJob(t, c, "job1", "MMS", t0, []int{0, 10}, "")
	if _, err := r.Run(context.Background(), "job1", 10); err != nil {
		t.Fatal(err)
	}
	// Same year, earlier and later files, and one of the first job's files again.
	uploadJob(t, c, "job2", "MMS", t0, []int{-60, 10, 600}, "")
	if _, err := r.Run(context.Background(), "job2", 10); err != nil {
		t.Fatal(err)
	}
	rows := indexRows(t, c, "MMS/MMS_2015.csv")
	if len(rows) != 4 {
		t.Fatalf("index has %d rows, want 4 (2 + 3 - 1 duplicate): %+v", len(rows), rows)
	}
	for i := 1; i < len(rows); i++ {
		if rows[i].Start.Before(rows[i-1].Start) {
			t.Fatal("rows not sorted by start")
		}
	}
	cat, _ := cloudcatalog.ParseCatalog(get(t, c, publicBucket, "catalog.json"))
	if e := cat.Catalog[0]; e.Start != "2015-09-01T11:00:00.000Z" || e.Stop != "2015-09-01T22:01:00.000Z" {
		t.Fatalf("start/stop not recomputed from every row: %s %s", e.Start, e.Stop)
	}
}

func TestFailedValidationCopiesNothingAndNamesEveryBadRow(t *testing.T) {
	r, c := newRunner(t)
	extra := "2015-09-01T13:00:00Z,,l2/missing.cdf,10,\r\n" + // not uploaded
		"not-a-time,,l2/x.cdf,10,\r\n" +
		"2015-09-01T13:00:00Z,,../escape.cdf,10,\r\n"
	uploadJob(t, c, "bad", "MMS", t0, []int{0, 10}, extra)
	put(t, c, uploadBucket, "bad/MMS/l2/2015/f_20150901T1210.cdf", []byte("another size"))
	rep, err := r.Run(context.Background(), "bad", 10)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != "failed" {
		t.Fatalf("status %s", rep.Status)
	}
	var lines []string
	for _, p := range rep.Problems {
		lines = append(lines, p.String())
	}
	all := strings.Join(lines, "\n")
	for _, want := range []string{"MMS/manifest.csv:3: l2/2015/f_20150901T1210.cdf: WRONG_SIZE", "MMS/manifest.csv:4: l2/missing.cdf: not uploaded",
		"MMS/manifest.csv:5: start:", "MMS/manifest.csv:6: key \"../escape.cdf\""} {
		if !strings.Contains(all, want) {
			t.Errorf("report lacks %q:\n%s", want, all)
		}
	}
	if exists(c, publicBucket, "MMS/l2/2015/f_20150901T1200.cdf") || exists(c, publicBucket, "MMS/MMS_2015.csv") || exists(c, publicBucket, "catalog.json") {
		t.Fatal("something was copied or written to the dataset bucket")
	}
	if !exists(c, uploadBucket, "bad/entries.json") {
		t.Fatal("a failed job's uploads were deleted")
	}
	if !strings.Contains(string(get(t, c, uploadBucket, "bad/report.json")), "WRONG_SIZE") {
		t.Fatal("report.json in the job folder lacks the problems")
	}
}

func TestRerunOfTheSameJobIsIdempotent(t *testing.T) {
	r, c := newRunner(t)
	uploadJob(t, c, "job1", "MMS", t0, []int{0, 10, 20}, "")
	if _, err := r.Run(context.Background(), "job1", 10); err != nil {
		t.Fatal(err)
	}
	first := get(t, c, publicBucket, "MMS/MMS_2015.csv")
	// The same job again (as after a retry, or a second upload of the same folder).
	uploadJob(t, c, "job1", "MMS", t0, []int{0, 10, 20}, "")
	if _, err := r.Run(context.Background(), "job1", 10); err != nil {
		t.Fatal(err)
	}
	if again := get(t, c, publicBucket, "MMS/MMS_2015.csv"); !bytes.Equal(first, again) {
		t.Fatalf("index changed:\n%s\nthen\n%s", first, again)
	}
	// A step re-run on its own (the workflow retries steps) changes nothing either.
	uploadJob(t, c, "job1", "MMS", t0, []int{0, 10, 20}, "")
	for i := 0; i < 2; i++ {
		if _, err := r.Index(context.Background(), JobInput{Marker: "job1/_READY"}); err != nil {
			t.Fatal(err)
		}
	}
	if again := get(t, c, publicBucket, "MMS/MMS_2015.csv"); !bytes.Equal(first, again) {
		t.Fatal("index changed on a repeated Index step")
	}
}

func TestRetractionOfFilesAndOfADataset(t *testing.T) {
	r, c := newRunner(t)
	uploadJob(t, c, "job1", "MMS", t0, []int{0, 10, 60 * 24 * 365}, "") // 2015 and 2016
	if _, err := r.Run(context.Background(), "job1", 10); err != nil {
		t.Fatal(err)
	}
	uploadJob(t, c, "job2", "OTHER", t0, []int{0}, "")
	if _, err := r.Run(context.Background(), "job2", 10); err != nil {
		t.Fatal(err)
	}
	put(t, c, uploadBucket, "drop1/drop.json", []byte(`[{"id": "MMS", "keys": ["l2/2015/f_20150901T1210.cdf", "l2/2016/f_20160831T1200.cdf"]}]`))
	rep, err := r.Run(context.Background(), "drop1", 10)
	if err != nil || rep.Status != "succeeded" || rep.Dropped != 2 {
		t.Fatalf("%v %+v", err, rep)
	}
	if rows := indexRows(t, c, "MMS/MMS_2015.csv"); len(rows) != 1 {
		t.Fatalf("2015 rows: %+v", rows)
	}
	if exists(c, publicBucket, "MMS/MMS_2016.csv") || exists(c, publicBucket, "MMS/l2/2015/f_20150901T1210.cdf") {
		t.Fatal("a retracted file or an emptied year's index is still there")
	}
	cat, _ := cloudcatalog.ParseCatalog(get(t, c, publicBucket, "catalog.json"))
	if len(cat.Catalog) != 2 || cat.Catalog[0].Stop != "2015-09-01T12:01:00.000Z" {
		t.Fatalf("catalog after file drop: %+v", cat.Catalog)
	}
	put(t, c, uploadBucket, "drop2/drop.json", []byte(`[{"id": "MMS", "all": true}]`))
	if rep, err := r.Run(context.Background(), "drop2", 10); err != nil || rep.Status != "succeeded" {
		t.Fatalf("%v %+v", err, rep)
	}
	cat, _ = cloudcatalog.ParseCatalog(get(t, c, publicBucket, "catalog.json"))
	if len(cat.Catalog) != 1 || cat.Catalog[0].ID != "OTHER" {
		t.Fatalf("catalog after dataset drop: %+v", cat.Catalog)
	}
	if exists(c, publicBucket, "MMS/MMS_2015.csv") || exists(c, publicBucket, "MMS/l2/2015/f_20150901T1200.cdf") {
		t.Fatal("the dropped dataset's files remain")
	}
}

func TestRetractionNeedsItToBeAllowed(t *testing.T) {
	r, c := newRunner(t)
	r.Config.AllowRetraction = false
	put(t, c, uploadBucket, "drop/drop.json", []byte(`[{"id": "MMS", "all": true}]`))
	rep, _ := r.Run(context.Background(), "drop", 10)
	if rep.Status != "failed" || !strings.Contains(rep.Problems[0].Message, "retraction is off") {
		t.Fatalf("%+v", rep)
	}
}

func TestConcurrentCatalogWritesKeepEveryRecord(t *testing.T) {
	r, c := newRunner(t)
	ctx := context.Background()
	// Many writers of one bucket's catalog at once; each adds its record before writing.
	done := make(chan error)
	for i := 0; i < 8; i++ {
		go func(i int) {
			rec := &Record{ID: fmt.Sprintf("DS%d", i), Bucket: publicBucket, Prefix: fmt.Sprintf("DS%d/", i), Entry: cloudcatalog.Entry{ID: fmt.Sprintf("DS%d", i)}}
			if err := r.Store.Put(ctx, rec); err != nil {
				done <- err
				return
			}
			done <- r.Catalog(ctx, CatalogInput{Buckets: []string{publicBucket}})
		}(i)
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var cat cloudcatalog.Catalog
	json.Unmarshal(get(t, c, publicBucket, "catalog.json"), &cat)
	if len(cat.Catalog) != 8 {
		t.Fatalf("catalog has %d entries, want 8", len(cat.Catalog))
	}
}

func TestEntryInAnUnknownBucketFails(t *testing.T) {
	r, c := newRunner(t)
	uploadJob(t, c, "job1", "MMS", t0, []int{0}, "")
	put(t, c, uploadBucket, "job1/entries.json", []byte(`[{"id": "MMS", "index": "s3://somebody-else/MMS/", "title": "x"}]`))
	rep, _ := r.Run(context.Background(), "job1", 10)
	if rep.Status != "failed" || !strings.Contains(rep.Problems[0].Message, "not one of this registry's dataset buckets") {
		t.Fatalf("%+v", rep.Problems)
	}
}

// A dataset another job is rebuilding makes Index fail with ErrBusy (the workflow retries it), and
// touches nothing.
func TestIndexOfABusyDatasetWaits(t *testing.T) {
	r, c := newRunner(t)
	uploadJob(t, c, "job1", "MMS", t0, []int{0}, "")
	if _, err := r.Validate(context.Background(), JobInput{Job: "job1"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Store.Lock(context.Background(), "MMS", "other-job", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Index(context.Background(), JobInput{Job: "job1"}); !errors.Is(err, ErrBusy) {
		t.Fatalf("err %v, want ErrBusy", err)
	}
	if exists(c, publicBucket, "MMS/MMS_2015.csv") {
		t.Fatal("a busy dataset's index was written")
	}
	r.Store.Unlock(context.Background(), "MMS", "other-job")
	if _, err := r.Index(context.Background(), JobInput{Job: "job1"}); err != nil {
		t.Fatal(err)
	}
}

func TestValidationChecksMD5Checksums(t *testing.T) {
	r, c := newRunner(t)
	uploadJob(t, c, "job1", "MMS", t0, []int{0}, "2015-09-01T13:00:00Z,,l2/other.cdf,5,0123456789abcdef0123456789abcdef\r\n")
	put(t, c, uploadBucket, "job1/MMS/l2/other.cdf", []byte("12345"))
	rep, _ := r.Run(context.Background(), "job1", 10)
	if rep.Status != "failed" || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].String(), "MMS/manifest.csv:3: l2/other.cdf: BAD_CHECKSUM: md5 827ccb0eea8a706c4c34a16891f84e7b") {
		t.Fatalf("%+v", rep.Problems)
	}
}

// An SSE-KMS upload bucket's ETags are not MD5 digests (Amazon S3 API Reference, "Object", ETag), so
// with Config.UploadKMS an md5 row is counted unverified instead of failing with BAD_CHECKSUM (gofakes3
// answers MD5 ETags, as S3 does for SSE-S3: the same wrong checksum as above passes here).
func TestValidationWithAKMSUploadBucketDoesNotCompareMD5WithETags(t *testing.T) {
	r, c := newRunner(t)
	r.Config.UploadKMS = true
	uploadJob(t, c, "job1", "MMS", t0, []int{0}, "2015-09-01T13:00:00Z,,l2/other.cdf,5,0123456789abcdef0123456789abcdef\r\n")
	put(t, c, uploadBucket, "job1/MMS/l2/other.cdf", []byte("12345"))
	rep, _ := r.Run(context.Background(), "job1", 10)
	if rep.Status != "succeeded" || len(rep.Problems) != 0 {
		t.Fatalf("status %s, problems %+v", rep.Status, rep.Problems)
	}
}
