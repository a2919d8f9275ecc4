package main

import (
	"bytes"
	"context"
	"crypto/rand"
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
