package main

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stratolab/stratolab/internal/ingest"
	"golang.org/x/sync/errgroup"
)

// uploadS3 is the part of S3 the upload uses (the SDK client satisfies it).
type uploadS3 = ingest.UploadAPI

// Multipart uploads: parts of at least 16 MiB, and large enough that a file of S3's largest size
// (5 TiB) needs at most 10,000 parts (S3 User Guide, "Amazon S3 multipart upload limits").
const (
	uploadPartMin   int64 = 16 << 20
	uploadMaxParts        = 10000
	partsInParallel       = 4
)

func uploadPartSize(size int64) int64 {
	const mib = 1 << 20
	p := max(uploadPartMin, (size+uploadMaxParts-1)/uploadMaxParts)
	return (p + mib - 1) / mib * mib
}

// unfinishedUploads lists the multipart uploads started under prefix and never completed: for each
// key, the one initiated last.
func unfinishedUploads(ctx context.Context, api uploadS3, bucket, prefix string) (map[string]types.MultipartUpload, error) {
	out := map[string]types.MultipartUpload{}
	p := s3.NewListMultipartUploadsPaginator(api, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		var ae smithy.APIError
		if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchUpload" {
			// S3 answers an empty list; gofakes3 v1.2.0 answers NoSuchUpload for a bucket that never
			// had a multipart upload. Either way there is nothing to resume.
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list the unfinished uploads under s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, u := range page.Uploads {
			k := aws.ToString(u.Key)
			if old, ok := out[k]; !ok || aws.ToTime(u.Initiated).After(aws.ToTime(old.Initiated)) {
				out[k] = u
			}
		}
	}
	return out, nil
}

// putFile uploads one file: in one request up to uploadPartMin, else as a multipart upload that
// resumes the unfinished one when given (its parts already there, of the right size and content, are
// kept). done counts bytes sent or found.
//
// A new multipart upload carries a SHA-256 checksum per part (ChecksumAlgorithm SHA256), and ListParts
// returns each part's ChecksumSHA256 (S3 User Guide, "Checking object integrity": "Using part-level
// checksums for multipart uploads"). That is what recognizes a part on resume, whatever the bucket's
// encryption: under SSE-KMS a part's ETag is not its MD5 (S3 API Reference, "Common Response Headers":
// ETag), so an ETag check would send every part again. An upload started without checksums (by an older
// version) is resumed as it was: by the part's ETag when that is an MD5, and with no checksums sent,
// since its CompleteMultipartUpload must not name an algorithm it was not created with.
func putFile(ctx context.Context, api uploadS3, bucket, key, path string, size int64, unfinished types.MultipartUpload, done *atomic.Int64) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if size <= uploadPartMin {
		_, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: &countingReader{r: fh, n: done}, ContentLength: aws.Int64(size)})
		return err
	}
	ps := uploadPartSize(size)
	nparts := int32((size + ps - 1) / ps)
	partLen := func(n int32) int64 { return min(ps, size-int64(n-1)*ps) }
	kept := map[int32]types.CompletedPart{}
	uploadID := aws.ToString(unfinished.UploadId)
	checksums := unfinished.ChecksumAlgorithm == types.ChecksumAlgorithmSha256
	if uploadID != "" {
		p := s3.NewListPartsPaginator(api, &s3.ListPartsInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				uploadID, kept = "", map[int32]types.CompletedPart{} // gone (aborted, expired): start again
				break
			}
			for _, part := range page.Parts {
				n := aws.ToInt32(part.PartNumber)
				if n < 1 || n > nparts || aws.ToInt64(part.Size) != partLen(n) {
					continue
				}
				off := int64(n-1) * ps
				if sum := aws.ToString(part.ChecksumSHA256); checksums && sum != "" {
					if local, err := partSHA256(fh, off, partLen(n)); err != nil || local != sum {
						continue
					}
				} else if checksums || !sameContent(fh, off, partLen(n), aws.ToString(part.ETag)) {
					continue
				}
				kept[n] = types.CompletedPart{PartNumber: part.PartNumber, ETag: part.ETag, ChecksumSHA256: part.ChecksumSHA256}
				done.Add(partLen(n))
			}
		}
	}
	if uploadID == "" {
		up, err := api.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		if err != nil {
			return err
		}
		uploadID, checksums = aws.ToString(up.UploadId), true
	}
	var todo []int32
	for n := int32(1); n <= nparts; n++ {
		if _, ok := kept[n]; !ok {
			todo = append(todo, n)
		}
	}
	var mu sync.Mutex
	err = parallelN(ctx, len(todo), partsInParallel, func(ctx context.Context, i int) error {
		n := todo[i]
		in := &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
			PartNumber: aws.Int32(n), ContentLength: aws.Int64(partLen(n))}
		if checksums {
			sum, err := partSHA256(fh, int64(n-1)*ps, partLen(n))
			if err != nil {
				return fmt.Errorf("part %d: %w", n, err)
			}
			in.ChecksumAlgorithm, in.ChecksumSHA256 = types.ChecksumAlgorithmSha256, aws.String(sum)
		}
		in.Body = &countingReader{r: io.NewSectionReader(fh, int64(n-1)*ps, partLen(n)), n: done}
		out, err := api.UploadPart(ctx, in)
		if err != nil {
			return fmt.Errorf("part %d: %w", n, err)
		}
		mu.Lock()
		kept[n] = types.CompletedPart{PartNumber: aws.Int32(n), ETag: out.ETag, ChecksumSHA256: in.ChecksumSHA256}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err // the upload stays, for the next run to resume
	}
	parts := make([]types.CompletedPart, 0, len(kept))
	for _, n := range slices.Sorted(mapKeysOf(kept)) {
		parts = append(parts, kept[n])
	}
	_, err = api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}})
	return err
}

// partSHA256 is the base64 SHA-256 of the file's bytes [off, off+n), the form of S3's ChecksumSHA256.
func partSHA256(f *os.File, off, n int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// sameContent reports whether the file's bytes [off, off+n) have the part's ETag, when that ETag is
// an MD5 (a part's ETag is its MD5 unless the bucket encrypts with SSE-KMS or SSE-C); any other ETag
// is taken on its size alone.
func sameContent(f *os.File, off, n int64, etag string) bool {
	etag = strings.Trim(etag, `"`)
	if len(etag) != 32 || strings.Trim(strings.ToLower(etag), "0123456789abcdef") != "" {
		return true
	}
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == strings.ToLower(etag)
}

func mapKeysOf[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// parallelN runs f for 0..n-1, at most k at once, and returns the first error; the first error
// cancels the context the others run with.
func parallelN(parent context.Context, n, k int, f func(context.Context, int) error) error {
	g, ctx := errgroup.WithContext(parent)
	g.SetLimit(k)
	for i := 0; i < n && ctx.Err() == nil; i++ {
		g.Go(func() error { return f(ctx, i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return parent.Err()
}
