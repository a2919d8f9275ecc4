package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"
	"github.com/stratolab/stratolab/internal/ingest"
	"github.com/stratolab/stratolab/internal/published"
)

// registryModule is where the Registry stack publishes its parameters.
const registryModule = "registry"

var registryFlags struct {
	instance, job string
	wait, start   bool
	concurrency   int
	poll          time.Duration
}

func init() {
	reg := &cobra.Command{Use: "registry", Short: "Validate, upload and ingest datasets into an instance's registry (CloudCatalog 1.1)"}
	validate := &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a job folder before uploading it: entries.json, every manifest, every file (all problems at once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := validateDir(cmd.OutOrStdout(), args[0])
			return err
		},
	}
	upload := &cobra.Command{
		Use:   "upload DIR --instance NAME --job JOB",
		Short: "Upload a job folder to the registry's upload bucket (multipart, parallel, resumable: files already there are skipped, unfinished multipart uploads resumed)",
		Args:  cobra.ExactArgs(1),
		RunE:  runUpload,
	}
	upload.Flags().BoolVar(&registryFlags.start, "start", false, "upload the marker last, which starts the job (instead of `registry ingest`)")
	upload.Flags().IntVar(&registryFlags.concurrency, "concurrency", 8, "files uploaded at once")
	ingestCmd := &cobra.Command{
		Use:   "ingest --instance NAME --job JOB [--wait]",
		Short: "Start an uploaded job; with --wait, follow it and exit non-zero with its report if it fails",
		Args:  cobra.NoArgs,
		RunE:  runIngest,
	}
	ingestCmd.Flags().BoolVar(&registryFlags.wait, "wait", false, "wait for the job to end and print its report")
	ingestCmd.Flags().DurationVar(&registryFlags.poll, "poll", 5*time.Second, "how often --wait asks for the job's state")
	for _, c := range []*cobra.Command{upload, ingestCmd} {
		c.Flags().StringVar(&registryFlags.instance, "instance", "", "the instance (its Registry stack must be deployed)")
		c.Flags().StringVar(&registryFlags.job, "job", "", "the job name: its folder in the upload bucket")
		c.MarkFlagRequired("instance")
		c.MarkFlagRequired("job")
	}
	reg.AddCommand(validate, upload, ingestCmd)
	root.AddCommand(reg)
}

// validateDir prints every problem of a job folder as dir/file:line: problem.
func validateDir(w io.Writer, dir string) (*ingest.LocalJob, error) {
	job, probs := ingest.ValidateDir(dir)
	for _, p := range probs {
		p.File = strings.TrimSuffix(dir, "/") + "/" + p.File
		fmt.Fprintln(w, p.String())
	}
	if len(probs) > 0 {
		return nil, fmt.Errorf("%s has %d problem(s); nothing was uploaded", dir, len(probs))
	}
	fmt.Fprintf(w, "%s: %d dataset(s), %d file(s), %s: ready to upload\n", dir, len(job.Entries), len(job.Files), humanBytes(job.Bytes))
	return job, nil
}

type registryParams struct {
	upload, workflow, marker string
}

func readRegistry(ctx context.Context, api published.SSM, inst string) (*registryParams, error) {
	params, err := published.Read(ctx, api, inst, registryModule)
	if err != nil {
		return nil, err
	}
	v, err := published.Require(params, inst, registryModule, "upload-bucket", "state-machine-arn", "marker")
	if err != nil {
		return nil, err
	}
	return &registryParams{upload: v[0], workflow: v[1], marker: v[2]}, nil
}

func runUpload(cmd *cobra.Command, args []string) error {
	ctx := cmd.Context()
	if err := ingest.CheckJob(registryFlags.job); err != nil {
		return err
	}
	job, err := validateDir(cmd.OutOrStdout(), args[0])
	if err != nil {
		return err
	}
	if probs := ingest.UploadKeyProblems(registryFlags.job, job); len(probs) > 0 {
		for _, p := range probs {
			p.File = strings.TrimSuffix(args[0], "/") + "/" + p.File
			fmt.Fprintln(cmd.OutOrStdout(), p.String())
		}
		return fmt.Errorf("%s has %d key(s) too long for job %s; nothing was uploaded", args[0], len(probs), registryFlags.job)
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	reg, err := readRegistry(ctx, ssm.NewFromConfig(cfg), registryFlags.instance)
	if err != nil {
		return err
	}
	marker := ""
	if registryFlags.start {
		marker = reg.marker
	}
	return uploadJob(ctx, s3.NewFromConfig(cfg), reg.upload, registryFlags.job, job, marker, registryFlags.concurrency, cmd.OutOrStdout())
}

// uploadJob uploads a validated job folder to s3://bucket/job/, skipping files already there with
// the same size and resuming unfinished multipart uploads (so an interrupted upload resumes where it
// stopped), data files first and entries.json last, then the marker when one is given.
func uploadJob(ctx context.Context, api uploadS3, bucket, jobName string, job *ingest.LocalJob, marker string, concurrency int, out io.Writer) error {
	existing := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(api, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(jobName + "/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s/: %w", bucket, jobName, err)
		}
		for _, o := range page.Contents {
			existing[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	var todo []ingest.LocalFile
	var total int64
	skipped := 0
	for _, f := range job.Files {
		if size, ok := existing[jobName+"/"+f.Key]; ok && size == f.Size && !strings.HasSuffix(f.Key, ".json") && !strings.HasSuffix(f.Key, ".csv") {
			skipped++
			continue
		}
		todo = append(todo, f)
		total += f.Size
	}
	if skipped > 0 {
		fmt.Fprintf(out, "%d file(s) already uploaded, skipped\n", skipped)
	}
	unfinished, err := unfinishedUploads(ctx, api, bucket, jobName+"/")
	if err != nil {
		return err
	}
	resumed := 0
	for _, f := range todo {
		if _, ok := unfinished[jobName+"/"+f.Key]; ok && f.Size > uploadPartMin {
			resumed++
		}
	}
	if resumed > 0 {
		fmt.Fprintf(out, "%d unfinished multipart upload(s) resumed\n", resumed)
	}
	prog := newProgress(out, len(todo), total)
	// Data first, in parallel; the job's own files (manifests, drop.json, entries.json) after, in order.
	var data, meta []ingest.LocalFile
	for _, f := range todo {
		if strings.HasSuffix(f.Key, "/"+ingest.ManifestFile) || f.Key == ingest.EntriesFile || f.Key == ingest.DropFile {
			meta = append(meta, f)
		} else {
			data = append(data, f)
		}
	}
	put := func(f ingest.LocalFile) error {
		key := jobName + "/" + f.Key
		if err := putFile(ctx, api, bucket, key, f.Path, f.Size, unfinished[key], &prog.bytes); err != nil {
			return fmt.Errorf("upload %s to s3://%s/%s: %w", f.Path, bucket, key, err)
		}
		prog.files.Add(1)
		return nil
	}
	if concurrency < 1 {
		concurrency = 1
	}
	stop := prog.start()
	err = parallel(ctx, data, concurrency, put)
	for _, f := range meta {
		if err != nil {
			break
		}
		err = put(f)
	}
	stop()
	if err != nil {
		return err
	}
	if marker != "" {
		if _, err := api.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(jobName + "/" + marker), Body: strings.NewReader("")}); err != nil {
			return fmt.Errorf("upload the marker: %w", err)
		}
		fmt.Fprintf(out, "uploaded s3://%s/%s/%s: the job starts now\n", bucket, jobName, marker)
	} else {
		fmt.Fprintf(out, "uploaded to s3://%s/%s/; start it with: stratolab registry ingest --instance %s --job %s --wait\n", bucket, jobName, registryFlags.instance, jobName)
	}
	return nil
}

func parallel(parent context.Context, files []ingest.LocalFile, n int, f func(ingest.LocalFile) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	ch := make(chan ingest.LocalFile)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for file := range ch {
				if err := f(file); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, file := range files {
		select {
		case ch <- file:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	if first != nil {
		return first
	}
	return parent.Err()
}

type countingReader struct {
	r io.ReadSeeker
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingReader) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }

// progress draws bytes, files, rate and ETA: a redrawn line on a terminal, a plain line every 10
// seconds elsewhere.
type progress struct {
	out          io.Writer
	files, bytes atomic.Int64
	nfiles       int
	total        int64
	tty          bool
	began        time.Time
}

func newProgress(out io.Writer, files int, total int64) *progress {
	return &progress{out: out, nfiles: files, total: total, tty: isTerminal(out)}
}

func (p *progress) line() string {
	elapsed := time.Since(p.began).Seconds()
	done := p.bytes.Load()
	rate := float64(done) / max(elapsed, 0.001)
	eta := "?"
	if rate > 0 && done > 0 {
		eta = (time.Duration(float64(p.total-done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%s / %s, %d / %d files, %s/s, ETA %s", humanBytes(done), humanBytes(p.total), p.files.Load(), p.nfiles, humanBytes(int64(rate)), eta)
}

func (p *progress) start() func() {
	p.began = time.Now()
	every := 10 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if p.tty {
					fmt.Fprintf(p.out, "\r\033[K%s", p.line())
				} else {
					fmt.Fprintln(p.out, p.line())
				}
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		if p.tty {
			fmt.Fprint(p.out, "\r\033[K")
		}
		fmt.Fprintln(p.out, p.line())
	}
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// SFN is the part of the Step Functions API ingest uses.
type SFN = ingest.WorkflowAPI

func runIngest(cmd *cobra.Command, _ []string) error {
	ctx := cmd.Context()
	if err := ingest.CheckJob(registryFlags.job); err != nil {
		return err
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	reg, err := readRegistry(ctx, ssm.NewFromConfig(cfg), registryFlags.instance)
	if err != nil {
		return err
	}
	return startAndWait(ctx, sfn.NewFromConfig(cfg), s3.NewFromConfig(cfg), reg, registryFlags.job, registryFlags.wait, registryFlags.poll, cmd.OutOrStdout())
}

// reportReader reads report.json (the S3 client satisfies it).
type reportReader = ingest.ReportReader

func startAndWait(ctx context.Context, api SFN, objects reportReader, reg *registryParams, job string, wait bool, poll time.Duration, out io.Writer) error {
	input, _ := json.Marshal(map[string]string{"job": job, "marker": ""})
	name := fmt.Sprintf("%s-%s", strings.NewReplacer(".", "-").Replace(job), time.Now().UTC().Format("20060102T150405"))
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	started, err := api.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(reg.workflow), Name: aws.String(name), Input: aws.String(string(input))})
	if err != nil {
		return fmt.Errorf("start job %s: %w", job, err)
	}
	arn := aws.ToString(started.ExecutionArn)
	fmt.Fprintf(out, "job %s started: %s\n", job, arn)
	if !wait {
		return nil
	}
	last := ""
	for {
		d, err := api.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			return fmt.Errorf("follow job %s: %w", job, err)
		}
		if s := string(d.Status); s != last {
			fmt.Fprintf(out, "job %s: %s\n", job, strings.ToLower(s))
			last = s
		}
		if d.Status != sfntypes.ExecutionStatusRunning && d.Status != sfntypes.ExecutionStatusPendingRedrive {
			// report.json is the last job's of that name: only this execution's report is shown.
			rep, rerr := readReport(ctx, objects, reg.upload, job)
			if rerr == nil && rep.Execution != arn {
				older := rep.Execution
				if older == "" {
					older = "an unnamed execution"
				}
				rerr = fmt.Errorf("s3://%s/%s/%s is from %s, not this one", reg.upload, job, ingest.ReportFile, older)
			}
			if rerr == nil {
				printReport(out, rep)
			}
			if d.Status == sfntypes.ExecutionStatusSucceeded {
				return nil
			}
			cause := strings.TrimSpace(aws.ToString(d.Error) + ": " + aws.ToString(d.Cause))
			if rerr != nil {
				cause += fmt.Sprintf(" (no report: %v)", rerr)
			}
			return fmt.Errorf("job %s %s: %s", job, strings.ToLower(string(d.Status)), cause)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

func readReport(ctx context.Context, api reportReader, bucket, job string) (*ingest.Report, error) {
	o, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(job + "/" + ingest.ReportFile)})
	if err != nil {
		return nil, err
	}
	defer o.Body.Close()
	var rep ingest.Report
	return &rep, json.NewDecoder(o.Body).Decode(&rep)
}

func printReport(out io.Writer, r *ingest.Report) {
	fmt.Fprintf(out, "report: %s, %d file(s), %s, %d dataset(s) %v, %d dropped, %.0f s\n", r.Status, r.Files, humanBytes(r.Bytes), len(r.Datasets), r.Datasets, r.Dropped, r.Seconds)
	for _, p := range r.Problems {
		fmt.Fprintln(out, "  "+p.String())
	}
	if r.Error != "" {
		fmt.Fprintln(out, "  error: "+r.Error)
	}
}
