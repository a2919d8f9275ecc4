package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// S3's limits on copies and multipart uploads (Amazon S3 User Guide, "Amazon S3 multipart upload
// limits"; the aws-sdk-go-v2 S3 v1.114.10 doc comments of CopyObject, "copy an object up to 5 GB in
// a single atomic action", and UploadPartCopy, "part number ... between 1 and 10,000").
const (
	S3MaxCopyObjectSize int64 = 5 << 30   // one CopyObject copies at most 5 GiB
	S3MaxObjectSize     int64 = 5 << 40   // an object holds at most 5 TiB
	S3MaxParts                = 10000     // a multipart upload has at most 10,000 parts
	S3MinPartSize       int64 = 5 << 20   // every part but the last is at least 5 MiB
	S3MaxPartSize       int64 = 5 << 30   // and at most 5 GiB
	S3MaxKeyBytes             = 1024      // an object key is at most 1,024 bytes of UTF-8
	SFNMaxPayloadBytes        = 256 << 10 // a state's input or output, and a Map batch, is at most 256 KiB
)

// The time budget of one copy invocation. S3 publishes no floor on a server-side copy's speed, so
// the plan assumes a slow one (AssumedCopyRate per request, plus RequestOverhead per request) and
// keeps every batch's worst case within CopyBudget, well inside the function's 15-minute timeout.
const (
	AssumedCopyRate int64 = 10 << 20 // bytes per second per request
	RequestOverhead       = 2 * time.Second
	CopyBudget            = 10 * time.Minute
	// CopyTimeout is the copy function's timeout (Lambda's maximum).
	CopyTimeout = 15 * time.Minute
)

// Limits bound what one copy request and one batch carry.
type Limits struct {
	// SingleCopyMax is the largest object copied by one CopyObject; larger ones are copied in parts.
	SingleCopyMax int64
	// PartSize is a multipart copy's smallest part size (larger for objects that would need more
	// than 10,000 parts).
	PartSize int64
	// BatchBytes, BatchFiles and BatchJSON bound one batch (one Distributed Map item, one invocation):
	// the bytes it copies, its requests, and its JSON encoding.
	BatchBytes int64
	BatchFiles int
	BatchJSON  int
}

// DefaultLimits: a request copies at most 1 GiB (102 s at the assumed rate), a batch at most 32 GiB.
func DefaultLimits(batchFiles int) Limits {
	if batchFiles < 1 {
		batchFiles = 200
	}
	// 64 KiB of the 256 KiB are left for the Map's wrapping of the item and the Lambda payload.
	return Limits{SingleCopyMax: 1 << 30, PartSize: 256 << 20, BatchBytes: 32 << 30, BatchFiles: batchFiles, BatchJSON: 192 << 10}
}

// WorstCase is the longest a batch within these limits can take with workers requests in flight: a
// greedy schedule of requests of at most SingleCopyMax (or one part) bytes on workers ends no later
// than (total work / workers) + (the longest request).
func (l Limits) WorstCase(workers int) time.Duration {
	rate := float64(AssumedCopyRate)
	largest := float64(max(l.SingleCopyMax, l.maxPart()))
	perRequest := RequestOverhead.Seconds()
	total := float64(l.BatchBytes)/rate + float64(l.BatchFiles)*perRequest
	return time.Duration((total/float64(workers) + largest/rate + perRequest) * float64(time.Second))
}

// maxPart is the largest part the plan makes for an object of S3's largest size.
func (l Limits) maxPart() int64 { return partSize(S3MaxObjectSize, l.PartSize) }

// partSize is the part size for a multipart copy of size bytes: at least min, and large enough
// that the copy needs at most 10,000 parts, in whole MiB.
// (5 TiB / 10,000 is 525 MiB rounded up: 9,987 parts.)
func partSize(size, floor int64) int64 {
	p := max(floor, S3MinPartSize, (size+S3MaxParts-1)/S3MaxParts)
	const mib = 1 << 20
	return (p + mib - 1) / mib * mib
}

// Multipart is one object copied in parts: the Prepare phase starts its upload, the batches copy
// its parts, the Complete phase completes it.
type Multipart struct {
	Src      string `json:"s"`
	Bucket   string `json:"b"`
	Key      string `json:"k"`
	Size     int64  `json:"z"`
	PartSize int64  `json:"ps"`
	Parts    int    `json:"n"`
}

// CopyPlan is what Validate writes: the batches (copies.json, the Distributed Map's items) and the
// multipart copies (multipart.json).
type CopyPlan struct {
	Batches   []CopyInput
	Multipart []Multipart
}

// PlanCopies turns a job's files into batches that each fit the limits: an object larger than
// SingleCopyMax becomes one item per part (spread over batches like any other copies).
func PlanCopies(files []CopyItem, l Limits) CopyPlan {
	var plan CopyPlan
	var cur []CopyItem
	var curBytes int64
	curJSON := len(`{"Items":[]}`)
	flush := func() {
		if len(cur) > 0 {
			plan.Batches = append(plan.Batches, CopyInput{Items: cur})
		}
		cur, curBytes, curJSON = nil, 0, len(`{"Items":[]}`)
	}
	add := func(it CopyItem) {
		n := itemJSONSize(it) + 1
		if len(cur) > 0 && (len(cur)+1 > l.BatchFiles || curBytes+it.Size > l.BatchBytes || curJSON+n > l.BatchJSON) {
			flush()
		}
		cur = append(cur, it)
		curBytes += it.Size
		curJSON += n
	}
	for _, f := range files {
		if f.Size <= l.SingleCopyMax {
			add(f)
			continue
		}
		ps := partSize(f.Size, l.PartSize)
		m := Multipart{Src: f.Src, Bucket: f.Bucket, Key: f.Key, Size: f.Size, PartSize: ps, Parts: int((f.Size + ps - 1) / ps)}
		plan.Multipart = append(plan.Multipart, m)
		for p := 0; p < m.Parts; p++ {
			off := int64(p) * ps
			add(CopyItem{Src: f.Src, Bucket: f.Bucket, Key: f.Key, Size: min(ps, f.Size-off), Upload: len(plan.Multipart), Part: int32(p + 1), Offset: off})
		}
	}
	flush()
	return plan
}

// itemJSONSize is len(json.Marshal(it)), counted rather than encoded (a million items).
func itemJSONSize(it CopyItem) int {
	n := len(`{"s":,"b":,"k":,"z":}`) + jsonStringLen(it.Src) + jsonStringLen(it.Bucket) + jsonStringLen(it.Key) + intLen(it.Size)
	if it.Upload != 0 {
		n += len(`,"u":`) + intLen(int64(it.Upload))
	}
	if it.Part != 0 {
		n += len(`,"p":`) + intLen(int64(it.Part))
	}
	if it.Offset != 0 {
		n += len(`,"o":`) + intLen(it.Offset)
	}
	return n
}

func intLen(v int64) int { return len(strconv.FormatInt(v, 10)) }

// jsonStringLen is the length of s as encoding/json writes it: quoted, with \" \\ \n \r \t (2 bytes),
// other control characters, <, >, &, U+2028, U+2029 and invalid UTF-8 as 6-byte \u escapes.
func jsonStringLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += 6
		case r == '\u2028' || r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}

// copySource is the CopySource of bucket/key as S3 reads it: "the value must be URL-encoded"
// (aws-sdk-go-v2 S3 CopyObjectInput and UploadPartCopyInput doc comments). Every byte but the
// unreserved characters of RFC 3986 and "/" is percent-encoded, so that "+" is not read as a space,
// "?" does not start a versionId, and "%" is not read as an escape.
func copySource(bucket, key string) string {
	const hex = "0123456789ABCDEF"
	s := bucket + "/" + key
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func (r *Runner) limits() Limits {
	if r.Limits != nil {
		return *r.Limits
	}
	return DefaultLimits(r.Config.BatchFiles)
}

// CopyPhaseInput starts or completes a job's multipart copies (the copy function's other two uses).
type CopyPhaseInput struct {
	Job string `json:"job"`
}

// StartMultipart starts a multipart upload for each object of <job>/.work/multipart.json and
// writes their upload IDs, in order, to <job>/.work/uploads.json.
func (r *Runner) StartMultipart(ctx context.Context, in CopyPhaseInput) (*CopyOutput, error) {
	mps, err := r.readMultipart(ctx, in.Job)
	if err != nil || len(mps) == 0 {
		return &CopyOutput{}, err
	}
	ids := make([]string, len(mps))
	err = r.each(ctx, len(mps), func(ctx context.Context, i int) error {
		m := mps[i]
		up, err := r.S3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(m.Bucket), Key: aws.String(m.Key)})
		if err != nil {
			return fmt.Errorf("start the multipart copy of s3://%s/%s: %w", m.Bucket, m.Key, err)
		}
		ids[i] = aws.ToString(up.UploadId)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &CopyOutput{}, r.putJSON(ctx, r.Config.UploadBucket, in.Job+"/"+WorkDir+"uploads.json", ids)
}

// CompleteMultipart completes each multipart copy from its listed parts (ListParts), after checking
// that every part was copied. A copy completed by an earlier attempt (NoSuchUpload, and the object
// has its size) counts as done.
func (r *Runner) CompleteMultipart(ctx context.Context, in CopyPhaseInput) (*CopyOutput, error) {
	mps, err := r.readMultipart(ctx, in.Job)
	if err != nil || len(mps) == 0 {
		return &CopyOutput{}, err
	}
	ids, err := r.readUploads(ctx, in.Job)
	if err != nil {
		return nil, err
	}
	if len(ids) != len(mps) {
		return nil, fmt.Errorf("%s/%suploads.json has %d upload(s), multipart.json %d", in.Job, WorkDir, len(ids), len(mps))
	}
	var out CopyOutput
	var mu sync.Mutex
	err = r.each(ctx, len(mps), func(ctx context.Context, i int) error {
		m := mps[i]
		if err := r.completeOne(ctx, m, ids[i]); err != nil {
			return fmt.Errorf("complete the multipart copy of s3://%s/%s: %w", m.Bucket, m.Key, err)
		}
		mu.Lock()
		out.Files++
		out.Bytes += m.Size
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (r *Runner) completeOne(ctx context.Context, m Multipart, id string) error {
	var parts []types.CompletedPart
	p := s3.NewListPartsPaginator(r.S3, &s3.ListPartsInput{Bucket: aws.String(m.Bucket), Key: aws.String(m.Key), UploadId: aws.String(id)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if isNoSuchUpload(err) {
			head, herr := r.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(m.Bucket), Key: aws.String(m.Key)})
			if herr == nil && aws.ToInt64(head.ContentLength) == m.Size {
				return nil // completed by an earlier attempt
			}
			return err
		}
		if err != nil {
			return err
		}
		for _, part := range page.Parts {
			parts = append(parts, types.CompletedPart{ETag: part.ETag, PartNumber: part.PartNumber})
		}
	}
	if len(parts) != m.Parts {
		return fmt.Errorf("%d of %d parts were copied", len(parts), m.Parts)
	}
	_, err := r.S3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(m.Bucket), Key: aws.String(m.Key), UploadId: aws.String(id),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	return err
}

func (r *Runner) readMultipart(ctx context.Context, job string) ([]Multipart, error) {
	if err := CheckJob(job); err != nil {
		return nil, err
	}
	data, err := r.get(ctx, r.Config.UploadBucket, job+"/"+WorkDir+"multipart.json")
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var mps []Multipart
	return mps, json.Unmarshal(data, &mps)
}

func (r *Runner) readUploads(ctx context.Context, job string) ([]string, error) {
	data, err := r.get(ctx, r.Config.UploadBucket, job+"/"+WorkDir+"uploads.json")
	if err != nil {
		return nil, fmt.Errorf("read %s/%suploads.json: %w", job, WorkDir, err)
	}
	var ids []string
	return ids, json.Unmarshal(data, &ids)
}

// each runs f for 0..n-1 with the runner's concurrency and returns the first error; the first
// error cancels the context the others run with.
func (r *Runner) each(parent context.Context, n int, f func(context.Context, int) error) error {
	g, ctx := errgroup.WithContext(parent)
	g.SetLimit(r.concurrency())
	for i := 0; i < n && ctx.Err() == nil; i++ {
		g.Go(func() error { return f(ctx, i) })
	}
	return g.Wait()
}

// CopyRequest is what the copy function is invoked with: a batch (Items), or a phase of the
// job's multipart copies (Phase "start" or "complete", with Job).
type CopyRequest struct {
	Items []CopyItem `json:"Items,omitempty"`
	Phase string     `json:"phase,omitempty"`
	Job   string     `json:"job,omitempty"`
}

// CopyStep serves the copy function.
func (r *Runner) CopyStep(ctx context.Context, in CopyRequest) (*CopyOutput, error) {
	switch in.Phase {
	case "":
		return r.Copy(ctx, CopyInput{Items: in.Items})
	case "start":
		return r.StartMultipart(ctx, CopyPhaseInput{Job: in.Job})
	case "complete":
		return r.CompleteMultipart(ctx, CopyPhaseInput{Job: in.Job})
	}
	return nil, fmt.Errorf("phase %q is not start or complete", in.Phase)
}

// abortMultipart aborts the job's multipart copies, if it started any (uploads.json).
func (r *Runner) abortMultipart(ctx context.Context, job string) error {
	mps, err := r.readMultipart(ctx, job)
	if err != nil || len(mps) == 0 {
		return err
	}
	ids, err := r.readUploads(ctx, job)
	if isNotFound(err) {
		return nil // never started
	}
	if err != nil {
		return err
	}
	return r.each(ctx, min(len(ids), len(mps)), func(ctx context.Context, i int) error {
		_, err := r.S3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(mps[i].Bucket), Key: aws.String(mps[i].Key), UploadId: aws.String(ids[i])})
		if err != nil && !isNoSuchUpload(err) {
			return fmt.Errorf("s3://%s/%s: %w", mps[i].Bucket, mps[i].Key, err)
		}
		return nil
	})
}
