package instance

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	s3BucketRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)
	readerRe   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[\w+=,.@/-]+$`)
	snsTopicRe = regexp.MustCompile(`^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`)
)

// s3BucketName says what is wrong with an S3 bucket name, or "". Dots are refused: the CloudCatalog
// client falls back to https://<bucket>.s3.amazonaws.com, whose certificate does not cover them.
func s3BucketName(name string) string {
	switch {
	case strings.HasPrefix(name, "s3://"):
		return "is a URL (give the bucket name alone, without s3://)"
	case strings.ToLower(name) != name:
		return "has uppercase letters (S3 bucket names are lowercase)"
	case len(name) < 3 || len(name) > 63:
		return fmt.Sprintf("is %d characters long (3 to 63)", len(name))
	case strings.Contains(name, "."):
		return "has a dot (allowed by S3, but it breaks TLS for https://<bucket>.s3.amazonaws.com; use dashes)"
	case !s3BucketRe.MatchString(name):
		return "is not an S3 bucket name (lowercase letters, digits and dashes, starting and ending with a letter or digit)"
	case strings.HasPrefix(name, "xn--") || strings.HasPrefix(name, "sthree-") || strings.HasSuffix(name, "-s3alias") || strings.HasSuffix(name, "--ol-s3"):
		return "uses a prefix or suffix S3 reserves (xn--, sthree-, -s3alias, --ol-s3)"
	}
	return ""
}

// registry checks the registry keys, only when the registry module is enabled.
func (v *validator) registry() {
	if !v.cfg.Enabled.Registry {
		return
	}
	r := v.cfg.Registry
	if len(r.Buckets) == 0 {
		v.errorf("registry.buckets", "is empty (at least one dataset bucket, such as {name: edu-example-helio-public, access: public, catalog_name: Example HelioCloud, contact: data@example.edu})")
	}
	seen := map[string]int{}
	for i, b := range r.Buckets {
		p := fmt.Sprintf("registry.buckets[%d]", i)
		if why := s3BucketName(b.Name); why != "" {
			v.errorf(p+".name", "%q %s", b.Name, why)
		} else if first, dup := seen[b.Name]; dup {
			v.errorf(p+".name", "%q is already registry.buckets[%d] (bucket names are unique)", b.Name, first)
		}
		seen[b.Name] = i
		switch b.Access {
		case "":
			v.errorf(p+".access", "is required (public, requester-pays or private)")
		case "public":
			if strings.TrimSpace(b.CatalogName) == "" {
				v.errorf(p+".catalog_name", "is required for a public bucket (catalog.json's name, such as Example University HelioCloud)")
			}
			if strings.TrimSpace(b.Contact) == "" {
				v.errorf(p+".contact", "is required for a public bucket (catalog.json's contact, such as Data Team, data@example.edu)")
			}
		}
		if len(b.Readers) > 0 && b.Access != "private" {
			v.errorf(p+".readers", "only applies to access: private (a %s bucket's readers are %s)", b.Access, map[string]string{"public": "everyone", "requester-pays": "whoever pays"}[b.Access])
		}
		for k, rd := range b.Readers {
			if !accountRe.MatchString(rd) && !readerRe.MatchString(rd) {
				v.errorf(fmt.Sprintf("%s.readers[%d]", p, k), "%q is not a 12-digit account ID or an IAM role or user ARN (arn:aws:iam::123456789012:role/Name)", rd)
			}
		}
		if len(b.CorsOrigins) > 0 && b.Access != "public" {
			v.errorf(p+".cors_origins", "only applies to access: public")
		}
		for k, o := range b.CorsOrigins {
			if o != "*" && !hostRe.MatchString(o) && !strings.HasPrefix(o, "http://localhost") {
				v.errorf(fmt.Sprintf("%s.cors_origins[%d]", p, k), "%q is not an origin (* or https://host, no path)", o)
			}
		}
	}
	if r.UploadBucketName != "" {
		if why := s3BucketName(r.UploadBucketName); why != "" {
			v.errorf("registry.upload_bucket_name", "%q %s", r.UploadBucketName, why)
		} else if i, dup := seen[r.UploadBucketName]; dup {
			v.errorf("registry.upload_bucket_name", "%q is also registry.buckets[%d] (the upload bucket is separate)", r.UploadBucketName, i)
		}
	}
	if r.UploadExpiryDays < 1 || r.UploadExpiryDays > 3650 {
		v.errorf("registry.upload_expiry_days", "%d is out of range (1 to 3650 days)", r.UploadExpiryDays)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`).MatchString(r.Marker) || r.Marker == "." || r.Marker == ".." || r.Marker == "entries.json" || r.Marker == "drop.json" || r.Marker == "report.json" {
		v.errorf("registry.marker", "%q is not a marker file name (letters, digits, ., _ and -, not a job file's name; such as _READY)", r.Marker)
	}
	if r.NotificationTopic != "" && !snsTopicRe.MatchString(r.NotificationTopic) {
		v.errorf("registry.notification_topic_arn", "%q is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)", r.NotificationTopic)
	}
	if r.CopyBatchSize < 1 || r.CopyBatchSize > 1000 {
		v.errorf("registry.copy_batch_size", "%d is out of range (1 to 1000)", r.CopyBatchSize)
	}
	if r.CopyConcurrency < 1 || r.CopyConcurrency > 10000 {
		v.errorf("registry.copy_concurrency", "%d is out of range (1 to 10000, the Distributed Map's limit)", r.CopyConcurrency)
	}
	if r.JobTimeoutHours < 1 || r.JobTimeoutHours > 8760 {
		v.errorf("registry.job_timeout_hours", "%d is out of range (1 to 8760 hours, a standard workflow's year)", r.JobTimeoutHours)
	}
	if r.Lifecycle.RemovalPolicy == "snapshot" {
		v.errorf("registry.lifecycle.removal_policy", "snapshot is not something S3 buckets support (retain or destroy)")
	}
}
