// Command registry is the registry's ingest workflow function (provided.al2023). One binary serves
// every step; the STEP variable says which one this function runs, so that each step runs under its
// own least-privilege role. All logic is in internal/ingest.
//
// Environment: STEP (validate, copy, index, catalog or report), REGISTRY_CONFIG (ingest.Config as
// JSON: the dataset buckets, whether retraction is allowed), UPLOAD_BUCKET and TABLE_NAME (the
// records table).
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stratolab/stratolab/internal/ingest"
)

func main() {
	step := os.Getenv("STEP")
	var cfg ingest.Config
	if err := json.Unmarshal([]byte(os.Getenv("REGISTRY_CONFIG")), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "REGISTRY_CONFIG:", err)
		os.Exit(1)
	}
	cfg.UploadBucket = os.Getenv("UPLOAD_BUCKET")
	for i := range cfg.Buckets {
		if cfg.Buckets[i].Region == "" {
			cfg.Buckets[i].Region = os.Getenv("AWS_REGION")
		}
	}
	// The steps keep up to ingest.HeadConcurrency requests in flight; the SDK's transport keeps only
	// 10 idle connections per host (aws-sdk-go-v2 v1.48.0 DefaultHTTPTransportMaxIdleConnsPerHost),
	// so every request past ten would open a new TLS connection.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 2 * ingest.HeadConcurrency
		t.MaxIdleConnsPerHost = ingest.HeadConcurrency
	})
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithHTTPClient(httpClient))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	r := &ingest.Runner{
		S3:     s3.NewFromConfig(awsCfg),
		Store:  &ingest.DynamoStore{API: dynamodb.NewFromConfig(awsCfg), Table: os.Getenv("TABLE_NAME")},
		Config: cfg,
	}
	h, err := handler(r, step)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lambda.Start(h)
}

func handler(r *ingest.Runner, step string) (any, error) {
	switch step {
	case "validate":
		return r.Validate, nil
	case "copy":
		return r.CopyStep, nil
	case "index":
		return r.Index, nil
	case "catalog":
		return func(ctx context.Context, in ingest.CatalogInput) error { return r.Catalog(ctx, in) }, nil
	case "report":
		return r.Report, nil
	}
	return nil, fmt.Errorf("STEP %q is not validate, copy, index, catalog or report", step)
}
