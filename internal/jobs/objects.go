package jobs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// ObjectGetter is the S3 call Download makes. *s3.Client satisfies it.
type ObjectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Download writes s3://bucket/key to dest, making dest's folder. Its error names the object and wraps
// the SDK's, so callers can still tell a missing key (errors.As) from a failed transfer.
func Download(ctx context.Context, api ObjectGetter, bucket, key, dest string) error {
	out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("download s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	f, err := os.Create(dest)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, out.Body); err != nil {
		f.Close()
		return fmt.Errorf("download s3://%s/%s: %w", bucket, key, err)
	}
	return f.Close()
}
