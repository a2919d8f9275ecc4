package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/stratolab/stratolab/internal/ingest"
)

// countingS3 counts the parts uploaded, on the real client against gofakes3 (which implements
// CreateMultipartUpload, UploadPart, ListMultipartUploads, ListParts and CompleteMultipartUpload).
type countingS3 struct {
	*s3.Client
	parts atomic.Int32
	fail  int32 // fail UploadPart of this part number
}

func (c *countingS3) UploadPart(ctx context.Context, in *s3.UploadPartInput, opts ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	if aws.ToInt32(in.PartNumber) == c.fail {
		// The connection drops once the other parts are in (as an interruption leaves them).
		for i := 0; i < 500 && c.parts.Load() < c.fail-1; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		return nil, io.ErrUnexpectedEOF
	}
	out, err := c.Client.UploadPart(ctx, in, opts...)
	c.parts.Add(1)
	return out, err
}

// An upload interrupted in the middle of a large file resumes it: the unfinished multipart upload is
// found (ListMultipartUploads), its parts are listed (ListParts), the good ones are kept and only
// the missing part is sent. A part whose content differs from the file (its ETag is not the MD5 of
// the local bytes) is sent again.
func TestRegistryUploadResumesAnUnfinishedMultipartUpload(t *testing.T) {
	c := &countingS3{Client: fakeS3(t)}
	dir := writeJob(t, 1, false)
	big := make([]byte, 2*uploadPartMin+5<<20) // three parts: 16, 16 and 5 MiB
	rand.Read(big)
	os.WriteFile(filepath.Join(dir, "MMS", "l2", "big.cdf"), big, 0o644)
	m, _ := os.ReadFile(filepath.Join(dir, "MMS", "manifest.csv"))
	os.WriteFile(filepath.Join(dir, "MMS", "manifest.csv"), append(m, []byte("2015-09-01T13:00:00Z,,l2/big.cdf,"+strconv.Itoa(len(big))+",\n")...), 0o644)
	job, probs := ingest.ValidateDir(dir)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	ctx := context.Background()
	// The first run dies on part 3.
	c.fail = 3
	var out bytes.Buffer
	if err := uploadJob(ctx, c, "lab-upload", "j1", job, "", 1, &out); err == nil {
		t.Fatal("the interrupted upload succeeded")
	}
	// Someone's part 2 does not match the file any more.
	ups, err := unfinishedUploads(ctx, c, "lab-upload", "j1/")
	if err != nil || len(ups) != 1 {
		t.Fatalf("unfinished uploads: %v %v", ups, err)
	}
	id := ups["j1/MMS/l2/big.cdf"].UploadId
	if id == nil {
		t.Fatalf("no unfinished upload of big.cdf: %v", ups)
	}
	bad := bytes.Repeat([]byte{'x'}, int(uploadPartMin))
	if _, err := c.Client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String("lab-upload"), Key: aws.String("j1/MMS/l2/big.cdf"), UploadId: id, PartNumber: aws.Int32(2), Body: bytes.NewReader(bad)}); err != nil {
		t.Fatal(err)
	}
	c.fail = 0
	c.parts.Store(0)
	out.Reset()
	if err := uploadJob(ctx, c, "lab-upload", "j1", job, "", 1, &out); err != nil {
		t.Fatal(err)
	}
	if n := c.parts.Load(); n != 2 {
		t.Errorf("%d parts sent on resume, want 2 (the bad part 2 and the missing part 3)", n)
	}
	if !strings.Contains(out.String(), "1 unfinished multipart upload(s) resumed") {
		t.Error(out.String())
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("lab-upload"), Key: aws.String("j1/MMS/l2/big.cdf")})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(obj.Body)
	if !bytes.Equal(got, big) {
		t.Fatalf("the resumed object differs (%d bytes)", len(got))
	}
	if ups, _ := unfinishedUploads(ctx, c, "lab-upload", "j1/"); len(ups) != 0 {
		t.Fatalf("unfinished uploads left: %v", ups)
	}
}

// A 5 TiB file fits S3's 10,000 parts.
func TestUploadPartSizeKeepsTheLargestFileWithinTenThousandParts(t *testing.T) {
	for _, size := range []int64{uploadPartMin + 1, 1 << 40, 5 << 40} {
		ps := uploadPartSize(size)
		if n := (size + ps - 1) / ps; n > uploadMaxParts || ps < 5<<20 || ps > 5<<30 {
			t.Errorf("size %d: %d parts of %d bytes", size, n, ps)
		}
	}
}

// kmsParts is a multipart API the way S3 answers for a bucket under SSE-KMS: a part's ETag is not its
// MD5 (S3 API Reference, "Common Response Headers": ETag), but an upload created with
// ChecksumAlgorithm SHA256 keeps each part's ChecksumSHA256 and lists it (S3 User Guide, "Checking
// object integrity", part-level checksums). S3 checks a part's checksum against its bytes.
type kmsParts struct {
	ingest.UploadAPI
	algo     types.ChecksumAlgorithm
	parts    map[int32]types.Part
	sent     []int32
	complete *s3.CompleteMultipartUploadInput
}

func (k *kmsParts) CreateMultipartUpload(_ context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	k.algo = in.ChecksumAlgorithm
	return &s3.CreateMultipartUploadOutput{UploadId: aws.String("u1")}, nil
}

func (k *kmsParts) UploadPart(_ context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	b, _ := io.ReadAll(in.Body)
	sum := sha256.Sum256(b)
	if got := base64.StdEncoding.EncodeToString(sum[:]); aws.ToString(in.ChecksumSHA256) != got {
		return nil, fmt.Errorf("part %d: checksum %q, the bytes' is %q", aws.ToInt32(in.PartNumber), aws.ToString(in.ChecksumSHA256), got)
	}
	n := aws.ToInt32(in.PartNumber)
	etag := fmt.Sprintf(`"%032x"`, 0xabc0+int(n)) // 32 hex digits, not the MD5
	k.parts[n] = types.Part{PartNumber: aws.Int32(n), Size: aws.Int64(int64(len(b))), ETag: aws.String(etag), ChecksumSHA256: in.ChecksumSHA256}
	k.sent = append(k.sent, n)
	return &s3.UploadPartOutput{ETag: aws.String(etag), ChecksumSHA256: in.ChecksumSHA256}, nil
}

func (k *kmsParts) ListParts(_ context.Context, in *s3.ListPartsInput, _ ...func(*s3.Options)) (*s3.ListPartsOutput, error) {
	out := &s3.ListPartsOutput{ChecksumAlgorithm: k.algo}
	for n := int32(1); n <= 10; n++ {
		if p, ok := k.parts[n]; ok {
			out.Parts = append(out.Parts, p)
		}
	}
	return out, nil
}

func (k *kmsParts) CompleteMultipartUpload(_ context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	k.complete = in
	return &s3.CompleteMultipartUploadOutput{}, nil
}

// Under SSE-KMS a resumed upload keeps the parts whose SHA-256 checksum matches the file and sends
// only the others: the part ETags, which are not MD5s there, are not what decides.
func TestUploadResumeUnderKMSKeepsPartsByTheirChecksums(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.cdf")
	big := make([]byte, 2*uploadPartMin+5<<20)
	rand.Read(big)
	os.WriteFile(path, big, 0o644)
	ctx := context.Background()
	api := &kmsParts{parts: map[int32]types.Part{}}
	var done atomic.Int64
	// A first run: every part, each with its checksum, under an upload that asks for SHA-256.
	if err := putFile(ctx, api, "b", "k", path, int64(len(big)), types.MultipartUpload{}, &done); err != nil {
		t.Fatal(err)
	}
	if api.algo != types.ChecksumAlgorithmSha256 || len(api.sent) != 3 {
		t.Fatalf("algorithm %q, parts sent %v", api.algo, api.sent)
	}
	// As if it had been interrupted: part 3 never arrived, and part 2 holds other bytes now.
	delete(api.parts, 3)
	p2 := api.parts[2]
	p2.ChecksumSHA256 = aws.String(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	api.parts[2] = p2
	api.sent, api.complete = nil, nil
	done.Store(0)
	if err := putFile(ctx, api, "b", "k", path, int64(len(big)), types.MultipartUpload{UploadId: aws.String("u1"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256}, &done); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(api.sent) != "[2 3]" && fmt.Sprint(api.sent) != "[3 2]" {
		t.Errorf("parts sent on resume %v, want 2 (changed) and 3 (missing); part 1 is kept", api.sent)
	}
	if done.Load() != int64(len(big)) {
		t.Errorf("progress %d of %d bytes", done.Load(), len(big))
	}
	if api.complete == nil || len(api.complete.MultipartUpload.Parts) != 3 {
		t.Fatalf("complete: %+v", api.complete)
	}
	for _, p := range api.complete.MultipartUpload.Parts {
		// An upload created with a checksum algorithm completes with every part's checksum.
		if aws.ToString(p.ChecksumSHA256) == "" {
			t.Errorf("part %d completes without its checksum", aws.ToInt32(p.PartNumber))
		}
	}
}
