package jobagent

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/stratolab/stratolab/internal/jobs"
)

// prepare downloads the inputs and unpacks the code; nil when the job can run.
func (a *Agent) prepare(ctx context.Context, spec jobs.Spec, inputs, code string, out io.Writer) *result {
	fail := func(what string, err error) *result {
		if r := stopped(ctx); r != nil {
			return r
		}
		if isNotFound(err) {
			fmt.Fprintf(out, "stratolab-worker: %s is missing (or not readable by workers)\n", what)
			return &result{state: jobs.StateFailed, reason: what + " is missing (or not readable by workers)"}
		}
		// Anything else (throttling, a network error) may pass: another attempt may succeed.
		return &result{state: jobs.StateInterrupted, reason: fmt.Sprintf("cannot download %s: %v", what, err)}
	}
	for _, k := range spec.Inputs {
		rel, _ := jobs.InputPath(spec.JobID, k) // Check has vetted it
		if err := a.download(ctx, k, filepath.Join(inputs, filepath.FromSlash(rel))); err != nil {
			return fail("input s3://"+a.Bucket+"/"+k, err)
		}
	}
	if spec.CodeKey != "" {
		tarball := filepath.Join(filepath.Dir(code), "code.tar.gz")
		if err := a.download(ctx, spec.CodeKey, tarball); err != nil {
			return fail("code s3://"+a.Bucket+"/"+spec.CodeKey, err)
		}
		if err := untar(tarball, code); err != nil {
			return &result{state: jobs.StateFailed, reason: fmt.Sprintf("code %s: %v", spec.CodeKey, err)}
		}
		os.Remove(tarball)
	}
	return nil
}

// isNotFound reports a key that is not there. S3 answers a GetObject of a missing key with 403
// AccessDenied, not 404, unless the caller may list the bucket (GetObject API reference, "Permissions"):
// the worker role may list only with an s3:prefix condition, which a GetObject request does not carry,
// and it may read every key under uploads/ and code/, so AccessDenied there means the key is missing.
// Retrying would only cycle the job through its queue into the dead-letter queue.
func isNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	var api smithy.APIError
	return errors.As(err, &nsk) || errors.As(err, &nf) ||
		(errors.As(err, &api) && (api.ErrorCode() == "NoSuchKey" || api.ErrorCode() == "NotFound" || api.ErrorCode() == "AccessDenied"))
}

func (a *Agent) download(ctx context.Context, key, dest string) error {
	return jobs.Download(ctx, a.S3, a.Bucket, key, dest)
}

// upload puts every regular file under outputs, and the job's log, under outputs/<job_id>/.
func (a *Agent) upload(ctx context.Context, jobID, outputs string, log *os.File) error {
	prefix := jobs.OutputsPrefix(jobID)
	err := filepath.WalkDir(outputs, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(outputs, p)
		if err != nil {
			return err
		}
		return a.put(ctx, prefix+filepath.ToSlash(rel), p)
	})
	if err != nil {
		return err
	}
	if err := log.Sync(); err != nil {
		return err
	}
	return a.put(ctx, prefix+jobs.LogObject, log.Name())
}

func (a *Agent) put(ctx context.Context, key, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	up := manager.NewUploader(a.S3, func(u *manager.Uploader) {
		u.PartSize = uploadPartSize(a.UploadPartSize, info.Size())
		u.Concurrency = 4
		// An abandoned upload (a cancel, a spot interruption) is aborted, so that no parts are left.
		u.LeavePartsOnError = false
	})
	_, err = up.Upload(ctx, &s3.PutObjectInput{Bucket: aws.String(a.Bucket), Key: aws.String(key), Body: f, ContentLength: aws.Int64(info.Size())})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", a.Bucket, key, err)
	}
	return nil
}

// S3's multipart limits (Amazon S3 User Guide, "Amazon S3 multipart upload limits"): parts of 5 MiB to
// 5 GiB, at most 10,000 parts, objects up to 5 TiB.
const (
	minPartSize     = 5 << 20
	maxParts        = 10000
	defaultPartSize = 64 << 20
)

// uploadPartSize is the part size for a file of size bytes: the configured size (64 MiB by default, at
// least S3's 5 MiB), raised when the file would need more than 10,000 parts.
func uploadPartSize(configured, size int64) int64 {
	p := configured
	if p <= 0 {
		p = defaultPartSize
	}
	p = max(p, minPartSize)
	if need := (size + maxParts - 1) / maxParts; need > p {
		p = need
	}
	return p
}

// untar unpacks a .tar.gz into dir: directories and regular files only, none outside dir.
func untar(tarball, dir string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("not a .tar.gz: %w", err)
	}
	tr := tar.NewReader(gz)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("not a .tar.gz: %w", err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if name == "." {
			continue
		}
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("entry %q points outside the code directory", h.Name)
		}
		dest := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(dest, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(dest, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode&0o755|0o644))
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		}
	}
}
