package ingest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Every allowed file size, S3's limits at each edge: one CopyObject up to 5 GiB, parts of 5 MiB to
// 5 GiB, at most 10,000 parts, objects up to 5 TiB (S3 User Guide, "Amazon S3 multipart upload
// limits"; aws-sdk-go-v2 S3 CopyObject and UploadPartCopy docs).
func TestPlanCopiesKeepsEveryRequestWithinS3Limits(t *testing.T) {
	l := DefaultLimits(200)
	sizes := []int64{0, 1, 5 << 20, l.SingleCopyMax, l.SingleCopyMax + 1, S3MaxCopyObjectSize, S3MaxCopyObjectSize + 1, 100 << 30, 1 << 40, S3MaxObjectSize}
	for _, size := range sizes {
		plan := PlanCopies([]CopyItem{{Src: "j/X/a.cdf", Bucket: "b", Key: "X/a.cdf", Size: size}}, l)
		var covered int64
		parts := 0
		for _, b := range plan.Batches {
			for _, it := range b.Items {
				if it.Upload == 0 {
					if it.Size > S3MaxCopyObjectSize {
						t.Errorf("size %d: one CopyObject of %d bytes, past S3's 5 GiB", size, it.Size)
					}
					covered += it.Size
					continue
				}
				parts++
				if it.Offset != covered {
					t.Errorf("size %d: part %d starts at %d, want %d", size, it.Part, it.Offset, covered)
				}
				covered += it.Size
				last := it.Offset+it.Size == size
				if it.Size > S3MaxPartSize || (!last && it.Size < S3MinPartSize) || it.Part < 1 || it.Part > S3MaxParts {
					t.Errorf("size %d: part %d of %d bytes is outside S3's limits", size, it.Part, it.Size)
				}
			}
		}
		if covered != size {
			t.Errorf("size %d: the plan copies %d bytes", size, covered)
		}
		if size > l.SingleCopyMax && (len(plan.Multipart) != 1 || plan.Multipart[0].Parts != parts || parts > S3MaxParts) {
			t.Errorf("size %d: multipart %+v, %d part items", size, plan.Multipart, parts)
		}
		if size <= l.SingleCopyMax && len(plan.Multipart) != 0 {
			t.Errorf("size %d: copied in parts, want one CopyObject", size)
		}
	}
	// The 5 TiB object: 5 TiB / 10,000 parts is 525 MiB (rounded up to a MiB), so 9,987 parts.
	if p := partSize(S3MaxObjectSize, l.PartSize); p != 525<<20 || (S3MaxObjectSize+p-1)/p != 9987 {
		t.Errorf("part size of 5 TiB: %d", p)
	}
}

// The arithmetic behind "no 15-minute wall": the worst batch (BatchBytes of data, BatchFiles
// requests, the largest single request) at the assumed slowest copy rate fits the budget, which
// leaves a third of the copy function's 15-minute timeout spare.
func TestWorstCaseCopyBatchFitsTheFunctionTimeout(t *testing.T) {
	l := DefaultLimits(1000) // the largest batch config allows (registry.copy_batch_size)
	workers := (&Runner{}).concurrency()
	worst := l.WorstCase(workers)
	// 32 GiB / 10 MiB/s = 3,276.8 s of copying and 1,000 x 2 s of requests over 64 workers
	// (82.45 s), plus the longest request: 1 GiB / 10 MiB/s + 2 s (104.4 s).
	if want := 186850 * time.Millisecond; worst.Round(50*time.Millisecond) != want {
		t.Errorf("worst case %v, want %v", worst, want)
	}
	if worst > CopyBudget || CopyBudget > CopyTimeout*2/3 {
		t.Errorf("worst case %v does not fit the budget %v of the %v timeout", worst, CopyBudget, CopyTimeout)
	}
	// The largest part any allowed object gets is itself within one request's share.
	if l.maxPart() > l.SingleCopyMax {
		t.Errorf("a 5 TiB object's parts (%d bytes) are larger than the largest single copy", l.maxPart())
	}
}

// A million small files with the longest keys S3 allows: every batch stays under the 256 KiB a
// Distributed Map item may carry (Step Functions quotas, "Maximum input or output size for a task,
// state, or execution: 256 KiB"; ItemBatcher's MaxInputBytesPerBatch is bounded by the same), and
// under the count and byte limits.
func TestPlanCopiesBatchesByCountBytesAndPayloadSize(t *testing.T) {
	l := DefaultLimits(1000)
	long := strings.Repeat("ü", 440) + ".cdf" // 884 bytes of UTF-8 (JSON keeps it as UTF-8)
	var files []CopyItem
	for i := 0; i < 20000; i++ {
		size := int64(4 << 20)
		if i%1000 == 0 {
			size = 900 << 20
		}
		files = append(files, CopyItem{Src: fmt.Sprintf("job-with-a-long-name/DATASET_%06d/%s", i, long), Bucket: "lab-helio-public-data", Key: fmt.Sprintf("DATASET/%06d/%s", i, long), Size: size})
	}
	plan := PlanCopies(files, l)
	n := 0
	for _, b := range plan.Batches {
		data, _ := json.Marshal(b)
		var bytes int64
		for _, it := range b.Items {
			bytes += it.Size
		}
		n += len(b.Items)
		if len(data) > l.BatchJSON || len(data) >= SFNMaxPayloadBytes || len(b.Items) > l.BatchFiles || bytes > l.BatchBytes {
			t.Fatalf("batch of %d items, %d bytes of JSON, %d bytes of data", len(b.Items), len(data), bytes)
		}
	}
	if n != len(files) {
		t.Fatalf("%d items planned for %d files", n, len(files))
	}
	// By bytes: 32 GiB over 4 MiB files would be 8,192 files, but 1,000 is the count limit, and
	// ~190 items of ~1 KiB is the payload limit here.
	if len(plan.Batches) < len(files)/200 {
		t.Fatalf("%d batches: the payload limit was not applied", len(plan.Batches))
	}
	big := PlanCopies([]CopyItem{{Size: 1 << 30}, {Size: 1 << 30}, {Size: 1 << 30}}, Limits{SingleCopyMax: 1 << 30, PartSize: 256 << 20, BatchBytes: 2 << 30, BatchFiles: 1000, BatchJSON: 192 << 10})
	if len(big.Batches) != 2 {
		t.Fatalf("3 GiB in batches of at most 2 GiB: %d batches", len(big.Batches))
	}
}

// S3 reads CopySource URL-decoded ("The value must be URL-encoded", aws-sdk-go-v2 S3
// CopyObjectInput.CopySource): "+" must be %2B (a raw "+" may be read as a space), "?" %3F (it would
// start ?versionId=), "%" %25, and non-ASCII bytes percent-encoded.
func TestCopySourceEncodesEveryReservedByte(t *testing.T) {
	cases := map[string]string{
		"j/X/a+b.cdf":        "up/j/X/a%2Bb.cdf",
		"j/X/a&b=c.cdf":      "up/j/X/a%26b%3Dc.cdf",
		"j/X/with space.cdf": "up/j/X/with%20space.cdf",
		"j/X/ü.cdf":          "up/j/X/%C3%BC.cdf",
		"j/X/100%.cdf":       "up/j/X/100%25.cdf",
		"j/X/what?.cdf":      "up/j/X/what%3F.cdf",
		"j/X/a~b_c-d.e":      "up/j/X/a~b_c-d.e",
	}
	for key, want := range cases {
		got := copySource("up", key)
		if got != want {
			t.Errorf("copySource(%q) = %q, want %q", key, got, want)
		}
		for _, dec := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
			if back, err := dec(got); err != nil || back != "up/"+key {
				t.Errorf("%q decodes to %q (%v)", got, back, err)
			}
		}
	}
}

// TestIngestCopiesKeysWithReservedCharacters runs a job whose keys hold +, &, =, spaces, unicode and
// % through the real SDK and gofakes3 (which URL-decodes the header with QueryUnescape, turning a raw
// "+" into a space).
func TestIngestCopiesKeysWithReservedCharacters(t *testing.T) {
	r, c := newRunner(t)
	keys := []string{"l2/a+b.cdf", "l2/a&b=c.cdf", "l2/with space.cdf", "l2/ünï.cdf", "l2/100%.cdf"}
	put(t, c, uploadBucket, "job1/entries.json", []byte(`[{"id": "MMS", "index": "s3://helio-public/MMS/", "title": "MMS"}]`))
	var m strings.Builder
	m.WriteString("start,key,filesize\n")
	for i, k := range keys {
		body := []byte("data " + k)
		put(t, c, uploadBucket, "job1/MMS/"+k, body)
		fmt.Fprintf(&m, "2015-09-01T12:0%d:00Z,\"%s\",%d\n", i, k, len(body))
	}
	put(t, c, uploadBucket, "job1/MMS/manifest.csv", []byte(m.String()))
	rep, err := r.Run(context.Background(), "job1", 10)
	if err != nil {
		t.Fatal(err, rep)
	}
	for _, k := range keys {
		if got := string(get(t, c, publicBucket, "MMS/"+k)); got != "data "+k {
			t.Errorf("MMS/%s: %q", k, got)
		}
	}
}

// partCopyS3 adds UploadPartCopy, which gofakes3 v1.2.0 lacks (its part upload ignores
// x-amz-copy-source), to the real client: it decodes CopySource strictly as S3 does, reads the range
// and uploads it as the part.
type partCopyS3 struct {
	*s3.Client
	partCopies int
	failPart   int32
}

func (p *partCopyS3) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, _ ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	if aws.ToInt32(in.PartNumber) == p.failPart {
		return nil, fmt.Errorf("InternalError")
	}
	p.partCopies++
	src, err := url.PathUnescape(aws.ToString(in.CopySource))
	if err != nil || strings.ContainsAny(aws.ToString(in.CopySource), "+ ?") {
		return nil, fmt.Errorf("CopySource %q is not URL-encoded", aws.ToString(in.CopySource))
	}
	bucket, key, _ := strings.Cut(src, "/")
	obj, err := p.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: in.CopySourceRange})
	if err != nil {
		return nil, err
	}
	data, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	out, err := p.Client.UploadPart(ctx, &s3.UploadPartInput{Bucket: in.Bucket, Key: in.Key, UploadId: in.UploadId, PartNumber: in.PartNumber, Body: bytes.NewReader(data)})
	if err != nil {
		return nil, err
	}
	return &s3.UploadPartCopyOutput{CopyPartResult: nil, ResultMetadata: out.ResultMetadata}, nil
}

// TestLargeFileIsCopiedInPartsSpreadOverBatches: a file above SingleCopyMax is started once, its parts
// go into batches like other copies (5 MiB per batch: three batches, the small file beside the last part), and the complete phase assembles them
// from ListParts; the result is byte-identical. The limits are scaled down to S3's 5 MiB part minimum.
func TestLargeFileIsCopiedInPartsSpreadOverBatches(t *testing.T) {
	r, c := newRunner(t)
	shim := &partCopyS3{Client: c}
	r.S3 = shim
	r.Limits = &Limits{SingleCopyMax: 6 << 20, PartSize: 5 << 20, BatchBytes: 5 << 20, BatchFiles: 100, BatchJSON: 192 << 10}
	big := make([]byte, 12<<20+3)
	rand.Read(big)
	put(t, c, uploadBucket, "job1/entries.json", []byte(`[{"id": "MMS", "index": "s3://helio-public/MMS/", "title": "MMS"}]`))
	put(t, c, uploadBucket, "job1/MMS/big+one.cdf", big)
	put(t, c, uploadBucket, "job1/MMS/small.cdf", []byte("small"))
	put(t, c, uploadBucket, "job1/MMS/manifest.csv", []byte(fmt.Sprintf("start,key,filesize\n2015-09-01T12:00:00Z,big+one.cdf,%d\n2015-09-01T12:01:00Z,small.cdf,5\n", len(big))))
	v, err := r.Validate(context.Background(), JobInput{Job: "job1"})
	if err != nil || !v.OK || v.Multipart != 1 || v.Batches != 3 {
		t.Fatalf("validate: %+v %v", v, err)
	}
	rep, err := r.Run(context.Background(), "job1", 0)
	if err != nil || rep.Status != "succeeded" {
		t.Fatalf("run: %+v %v", rep, err)
	}
	if shim.partCopies != 3 {
		t.Errorf("%d part copies, want 3 (5 + 5 + 2 MiB)", shim.partCopies)
	}
	if got := get(t, c, publicBucket, "MMS/big+one.cdf"); !bytes.Equal(got, big) {
		t.Errorf("the copy differs: %d bytes", len(got))
	}
}

// A part missing when the complete phase runs fails the job instead of completing a short object.
func TestCompleteMultipartRejectsMissingParts(t *testing.T) {
	r, c := newRunner(t)
	r.S3 = &partCopyS3{Client: c}
	r.Limits = &Limits{SingleCopyMax: 6 << 20, PartSize: 5 << 20, BatchBytes: 5 << 20, BatchFiles: 100, BatchJSON: 192 << 10}
	big := make([]byte, 11<<20)
	put(t, c, uploadBucket, "job1/entries.json", []byte(`[{"id": "MMS", "index": "s3://helio-public/MMS/", "title": "MMS"}]`))
	put(t, c, uploadBucket, "job1/MMS/big.cdf", big)
	put(t, c, uploadBucket, "job1/MMS/manifest.csv", []byte(fmt.Sprintf("start,key,filesize\n2015-09-01T12:00:00Z,big.cdf,%d\n", len(big))))
	ctx := context.Background()
	v, err := r.Validate(ctx, JobInput{Job: "job1"})
	if err != nil || !v.OK {
		t.Fatal(v, err)
	}
	if _, err := r.StartMultipart(ctx, CopyPhaseInput{Job: "job1"}); err != nil {
		t.Fatal(err)
	}
	batches, _ := r.ReadCopyList(ctx, v.CopyList)
	if _, err := r.Copy(ctx, batches[0]); err != nil { // the first part only
		t.Fatal(err)
	}
	_, err = r.CompleteMultipart(ctx, CopyPhaseInput{Job: "job1"})
	if err == nil || !strings.Contains(err.Error(), "1 of 3 parts were copied") {
		t.Fatalf("complete with a missing part: %v", err)
	}
	if exists(c, publicBucket, "MMS/big.cdf") {
		t.Fatal("a short object was completed")
	}
}

// A million-file job's copy list: every item a batch under the payload limit, far fewer items than
// the Distributed Map reads (MaxItems is at most 100,000,000), and a compact file.
func TestPlanCopiesForAMillionFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("a million files")
	}
	files := make([]CopyItem, 1_000_000)
	for i := range files {
		key := fmt.Sprintf("mms1/fgm/brst/l2/2015/09/01/mms1_fgm_brst_l2_%08d_v4.18.0.cdf", i)
		files[i] = CopyItem{Src: "mms-2026-12/MMS/" + key, Bucket: "lab-helio-public", Key: "MMS/" + key, Size: 4 << 20}
	}
	plan := PlanCopies(files, DefaultLimits(200))
	if len(plan.Batches) != 5000 {
		t.Fatalf("%d batches, want 5,000 of 200", len(plan.Batches))
	}
	size := 0
	for _, b := range plan.Batches {
		for _, it := range b.Items {
			size += itemJSONSize(it) + 1
		}
	}
	if size > 300<<20 {
		t.Fatalf("the copy list is %d bytes", size)
	}
	for _, b := range plan.Batches[:10] {
		if d, _ := json.Marshal(b); len(d) >= SFNMaxPayloadBytes {
			t.Fatalf("a batch of %d bytes", len(d))
		}
	}
}

// The counted JSON size is encoding/json's, for the strings that escape.
func TestItemJSONSizeIsEncodingJSONs(t *testing.T) {
	for _, s := range []string{"", "plain/key.cdf", `a"b\c`, "tab\tnl\ncr\r", "\x01<>&", "ü€😀", "\u2028\u2029", "bad\xffutf8", "100%+&="} {
		for _, it := range []CopyItem{{Src: s, Bucket: "b", Key: s, Size: 12345}, {Src: s, Key: s, Size: 1 << 40, Upload: 17, Part: 9999, Offset: 5 << 30}} {
			want, _ := json.Marshal(it)
			if got := itemJSONSize(it); got != len(want) {
				t.Errorf("%q: counted %d, encoded %d (%s)", s, got, len(want), want)
			}
		}
	}
}

// The job folder listed in parallel ranges finds exactly what one listing finds: keys on the cuts,
// between them, past the last expected key, and in S3's byte order (unicode, "+", upper case).
func TestListJobInRangesFindsWhatOneListingFinds(t *testing.T) {
	r, c := newRunner(t)
	defer func(n int) { listLaneKeys = n }(listLaneKeys)
	listLaneKeys = 10
	var expected []string
	for i := 0; i < 120; i++ {
		k := fmt.Sprintf("job1/MMS/%s%03d.cdf", []string{"a", "B", "ü", "a+", "z"}[i%5], i)
		put(t, c, uploadBucket, k, []byte(k))
		if i%7 != 0 { // some uploads are in no manifest
			expected = append(expected, k)
		}
	}
	for _, k := range []string{"job1/entries.json", "job1/MMS/manifest.csv", "job1/zzz-after-everything", "job10/other-job"} {
		put(t, c, uploadBucket, k, []byte(k))
	}
	got, err := r.listJob(context.Background(), "job1", expected)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 123 {
		t.Fatalf("%d keys listed, want 123 (120 files, entries.json, manifest.csv, the last key)", len(got))
	}
	for _, k := range expected {
		if o, ok := got[k]; !ok || o.size != int64(len(k)) {
			t.Fatalf("%s: %+v %v", k, o, ok)
		}
	}
	if _, ok := got["job10/other-job"]; ok {
		t.Fatal("another job's key was listed")
	}
}

// Validate's worst case for a million files, every row with a SHA-256 (one HEAD each), at assumed
// slow latencies (500 ms a listing page of 1,000 keys, 100 ms a HEAD): the listing in 16 lanes and
// 256 HEADs in flight fit the function's 15 minutes with a third to spare.
func TestWorstCaseValidateOfAMillionFilesFitsTheFunctionTimeout(t *testing.T) {
	const files = 1_000_000
	pages := (files/1000 + listLanes - 1) / listLanes
	listing := time.Duration(pages) * 500 * time.Millisecond
	heads := time.Duration((files+HeadConcurrency-1)/HeadConcurrency) * 100 * time.Millisecond
	if worst := listing + heads; worst > CopyBudget {
		t.Fatalf("listing %v + HEADs %v = %v, past the %v budget", listing, heads, worst, CopyBudget)
	}
	if (&Runner{}).headConcurrency() != HeadConcurrency {
		t.Fatal("Validate does not run HeadConcurrency HEADs at once")
	}
}

// The workflow retries a step whose answer was lost: completing the multipart copies again, after
// they were completed, finds the objects in place (NoSuchUpload, and the object has its size).
func TestCompleteMultipartTwiceIsDone(t *testing.T) {
	r, c := newRunner(t)
	r.S3 = &partCopyS3{Client: c}
	r.Limits = &Limits{SingleCopyMax: 6 << 20, PartSize: 5 << 20, BatchBytes: 5 << 20, BatchFiles: 100, BatchJSON: 192 << 10}
	big := make([]byte, 11<<20)
	rand.Read(big)
	put(t, c, uploadBucket, "job1/entries.json", []byte(`[{"id": "MMS", "index": "s3://helio-public/MMS/", "title": "MMS"}]`))
	put(t, c, uploadBucket, "job1/MMS/big.cdf", big)
	put(t, c, uploadBucket, "job1/MMS/manifest.csv", []byte(fmt.Sprintf("start,key,filesize\n2015-09-01T12:00:00Z,big.cdf,%d\n", len(big))))
	ctx := context.Background()
	v, err := r.Validate(ctx, JobInput{Job: "job1"})
	if err != nil || !v.OK {
		t.Fatal(v, err)
	}
	if _, err := r.CopyStep(ctx, CopyRequest{Phase: "start", Job: "job1"}); err != nil {
		t.Fatal(err)
	}
	batches, _ := r.ReadCopyList(ctx, v.CopyList)
	for _, b := range batches {
		if _, err := r.CopyStep(ctx, CopyRequest{Items: b.Items}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		out, err := r.CopyStep(ctx, CopyRequest{Phase: "complete", Job: "job1"})
		if err != nil || out.Files != 1 || out.Bytes != int64(len(big)) {
			t.Fatalf("complete #%d: %+v %v", i+1, out, err)
		}
	}
	if got := get(t, c, publicBucket, "MMS/big.cdf"); !bytes.Equal(got, big) {
		t.Fatal("the copy differs")
	}
}

// A job that fails after its multipart copies started aborts them in the report step (their parts
// would otherwise be stored until the buckets' lifecycle aborts them).
func TestFailedJobAbortsItsMultipartCopies(t *testing.T) {
	r, c := newRunner(t)
	r.S3 = &partCopyS3{Client: c, failPart: 2}
	r.Limits = &Limits{SingleCopyMax: 6 << 20, PartSize: 5 << 20, BatchBytes: 5 << 20, BatchFiles: 100, BatchJSON: 192 << 10}
	big := make([]byte, 11<<20)
	put(t, c, uploadBucket, "job1/entries.json", []byte(`[{"id": "MMS", "index": "s3://helio-public/MMS/", "title": "MMS"}]`))
	put(t, c, uploadBucket, "job1/MMS/big.cdf", big)
	put(t, c, uploadBucket, "job1/MMS/manifest.csv", []byte(fmt.Sprintf("start,key,filesize\n2015-09-01T12:00:00Z,big.cdf,%d\n", len(big))))
	rep, err := r.Run(context.Background(), "job1", 0)
	if err == nil || rep == nil || rep.Status != "failed" || !strings.Contains(rep.Error, "copy part 2 of") {
		t.Fatalf("run: %+v %v", rep, err)
	}
	ups, err := c.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(publicBucket)})
	if err != nil || len(ups.Uploads) != 0 {
		t.Fatalf("unfinished uploads left: %+v %v", ups, err)
	}
}
