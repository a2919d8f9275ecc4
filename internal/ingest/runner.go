package ingest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stratolab/stratolab/internal/cloudcatalog"
)

// S3 is the part of the S3 API the ingest uses. *s3.Client satisfies it.
type S3 interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, opts ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, opts ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, opts ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	DeleteObjects(ctx context.Context, in *s3.DeleteObjectsInput, opts ...func(*s3.Options)) (*s3.DeleteObjectsOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, opts ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, opts ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	ListParts(ctx context.Context, in *s3.ListPartsInput, opts ...func(*s3.Options)) (*s3.ListPartsOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, opts ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// Bucket is a dataset bucket and what its catalog.json says about it.
type Bucket struct {
	Name   string `json:"name"`
	Region string `json:"region"`
	// Access is public, requester-pays or private.
	Access      string `json:"access"`
	CatalogName string `json:"catalog_name"`
	Contact     string `json:"contact"`
	Description string `json:"description,omitempty"`
	Citation    string `json:"citation,omitempty"`
}

// Egress is the catalog's egress keywords for the bucket's access mode.
func (b Bucket) Egress() string {
	switch b.Access {
	case "public":
		return "free,public"
	case "requester-pays":
		return "user-pays"
	}
	return "private"
}

// Config is what the workflow's functions are told at deploy time.
type Config struct {
	UploadBucket string   `json:"upload_bucket"`
	Buckets      []Bucket `json:"buckets"`
	// AllowRetraction lets a job's drop.json delete files and datasets.
	AllowRetraction bool `json:"allow_retraction"`
	// Concurrency is how many S3 requests one function keeps in flight. Default: 64.
	Concurrency int `json:"concurrency,omitempty"`
	// BatchFiles is the most copies in one batch. Default: 200.
	BatchFiles int `json:"batch_files,omitempty"`
	// UploadKMS says the upload bucket encrypts with SSE-KMS, whose objects' ETags are not an MD5
	// digest of their data (Amazon S3 API Reference, "Object", ETag), so an md5 row is counted
	// unverified, not compared.
	UploadKMS bool `json:"upload_kms,omitempty"`
}

// Runner runs the ingest steps.
type Runner struct {
	S3     S3
	Store  Store
	Config Config
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Limits sizes copy batches. Default: DefaultLimits(Config.BatchFiles).
	Limits *Limits
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) concurrency() int {
	if r.Config.Concurrency > 0 {
		return r.Config.Concurrency
	}
	return 64
}

// HeadConcurrency is how many HEADs Validate keeps in flight (one per SHA-256 row). A HEAD moves no
// data, so Validate runs four times the copies' concurrency.
const HeadConcurrency = 256

func (r *Runner) headConcurrency() int {
	if r.Config.Concurrency > 0 {
		return 4 * r.Config.Concurrency
	}
	return HeadConcurrency
}

func (r *Runner) bucket(name string) (Bucket, bool) {
	for _, b := range r.Config.Buckets {
		if b.Name == name {
			return b, true
		}
	}
	return Bucket{}, false
}

var jobRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// CheckJob checks a job name: the folder under the upload bucket's root.
func CheckJob(job string) error {
	if !jobRe.MatchString(job) || job == "." || job == ".." {
		return fmt.Errorf("job %q is not a job name (letters, digits, ., _ and -, at most 128, such as mms-2026-12)", job)
	}
	return nil
}

// ErrBusy means another job holds a dataset's lock; the workflow retries the step later.
var ErrBusy = errors.New("DatasetBusy")

// ErrConflict means a conditional write lost a race; the caller reads again and retries.
var ErrConflict = errors.New("conflict")

// Record is a dataset's catalog record: its entry and a summary of each year's index file.
type Record struct {
	ID     string                              `json:"id"`
	Bucket string                              `json:"bucket"`
	Prefix string                              `json:"prefix"`
	Entry  cloudcatalog.Entry                  `json:"entry"`
	Years  map[string]cloudcatalog.YearSummary `json:"years"`
	// Job is the last job that changed the record.
	Job string `json:"job"`
	// Version counts writes; Put succeeds only when the stored version is the one read.
	Version int64 `json:"version"`
}

// Store keeps the records (DynamoDB in a deployment).
type Store interface {
	// Get returns the record, or nil when there is none.
	Get(ctx context.Context, id string) (*Record, error)
	// Put writes rec if the stored version is rec.Version (0: no record yet), and sets rec.Version to the new one.
	Put(ctx context.Context, rec *Record) error
	// Delete removes the record if its stored version is version.
	Delete(ctx context.Context, id string, version int64) error
	// List returns the records of a bucket.
	List(ctx context.Context, bucket string) ([]Record, error)
	// Lock takes a dataset's lock for owner until ttl passes (ErrBusy if someone else has it); Unlock frees it.
	Lock(ctx context.Context, id, owner string, ttl time.Duration) error
	Unlock(ctx context.Context, id, owner string) error
}
