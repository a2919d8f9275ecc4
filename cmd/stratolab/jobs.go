package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/spf13/cobra"
	"github.com/stratolab/stratolab/internal/jobclient"
	"github.com/stratolab/stratolab/internal/jobs"
	"github.com/stratolab/stratolab/internal/published"
)

var jobsFlags struct {
	instance string
}

// newJobsClient finds the instance's jobs platform through what its stacks publish.
var newJobsClient = func(ctx context.Context, progress io.Writer) (*jobclient.Client, error) {
	if jobsFlags.instance == "" {
		return nil, fmt.Errorf("--instance is required (the instance's name, as in instance/NAME.yaml)")
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	params, err := published.Read(ctx, ssm.NewFromConfig(cfg), jobsFlags.instance, "jobs")
	if err != nil {
		return nil, err
	}
	v, err := published.Require(params, jobsFlags.instance, "jobs", jobs.ParamBucket, jobs.ParamJobsTable)
	if err != nil {
		return nil, err
	}
	sqsClient := sqs.NewFromConfig(cfg)
	return &jobclient.Client{
		Table: jobs.DynamoTable{API: dynamodb.NewFromConfig(cfg), Name: v[1]}, Bucket: v[0], S3: s3.NewFromConfig(cfg),
		Logs: cloudwatchlogs.NewFromConfig(cfg), Progress: progress,
		Queue: func(class string) (jobs.Queue, error) {
			if url := params[jobs.ParamQueuePrefix+class]; url != "" {
				return jobs.SQSQueue{API: sqsClient, URL: url}, nil
			}
			var classes []string
			for k := range params {
				if c, ok := strings.CutPrefix(k, jobs.ParamQueuePrefix); ok {
					classes = append(classes, c)
				}
			}
			sort.Strings(classes)
			return nil, fmt.Errorf("instance %s has no job class %q (its classes: %s)", jobsFlags.instance, class, strings.Join(classes, ", "))
		},
	}, nil
}

func init() {
	group := &cobra.Command{
		Use:   "jobs",
		Short: "Run jobs on an instance's job fleets: submit, status, logs, fetch, cancel",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	group.PersistentFlags().StringVar(&jobsFlags.instance, "instance", "", "instance name (required)")

	var sub struct {
		class, user, code string
		inputs            []string
		timeout           time.Duration
		wait              bool
	}
	submit := &cobra.Command{
		Use:   "submit --class CLASS [--input FILE]... -- COMMAND [ARG]...",
		Short: "Upload inputs and queue a job; prints its ID",
		Long: "Uploads each --input to uploads/<job_id>/, records the job as queued and sends it to the class's queue.\n" +
			"The command runs on a worker as an unprivileged user, with $JOB_INPUTS holding the inputs; what it writes\n" +
			"to $JOB_OUTPUTS is uploaded to outputs/<job_id>/ (fetch it with `stratolab jobs fetch`).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sub.class == "" {
				return fmt.Errorf("--class is required (a job class of the instance, such as prod)")
			}
			c, err := newJobsClient(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			user := sub.user
			if user == "" {
				user = currentUser()
			}
			spec, err := c.Submit(cmd.Context(), jobclient.Submission{Class: sub.class, UserID: user, Command: args, Inputs: sub.inputs,
				CodeKey: sub.code, TimeoutSeconds: int(sub.timeout / time.Second)})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), spec.JobID)
			if !sub.wait {
				return nil
			}
			return waitFor(cmd, c, spec.JobID)
		},
	}
	submit.Flags().StringVar(&sub.class, "class", "", "job class (required)")
	submit.Flags().StringArrayVar(&sub.inputs, "input", nil, "a local file the job reads from $JOB_INPUTS (repeatable)")
	submit.Flags().StringVar(&sub.code, "code", "", "a .tar.gz under code/ in the jobs bucket, unpacked into $JOB_CODE where the command runs")
	submit.Flags().DurationVar(&sub.timeout, "timeout", 0, "time limit, such as 2h, at most 11h30m (default: the worker's, 11h30m)")
	submit.Flags().StringVar(&sub.user, "user", "", "user ID recorded with the job (default: your login name)")
	submit.Flags().BoolVar(&sub.wait, "wait", false, "wait until the job has ended; exit non-zero unless it succeeded")

	var statusWait bool
	status := &cobra.Command{
		Use:   "status JOB_ID",
		Short: "Show a job's state (with --wait, until it has ended)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newJobsClient(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if statusWait {
				return waitFor(cmd, c, args[0])
			}
			j, err := c.Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), jobclient.Describe(j))
			return nil
		},
	}
	status.Flags().BoolVar(&statusWait, "wait", false, "wait until the job has ended; exit non-zero unless it succeeded")

	logs := &cobra.Command{
		Use:   "logs JOB_ID",
		Short: "Print a job's output (from CloudWatch Logs, or the copy in its outputs)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newJobsClient(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			return c.Log(cmd.Context(), args[0], cmd.OutOrStdout())
		},
	}
	fetch := &cobra.Command{
		Use:   "fetch JOB_ID DIR",
		Short: "Download a job's outputs (outputs/<job_id>/) into DIR",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newJobsClient(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			files, err := c.Fetch(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d files in %s\n", len(files), args[1])
			return nil
		},
	}
	cancel := &cobra.Command{
		Use:   "cancel JOB_ID",
		Short: "Cancel a queued job, or stop a running one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newJobsClient(cmd.Context(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			j, err := c.Cancel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), jobclient.Describe(j))
			return nil
		},
	}
	group.AddCommand(submit, status, logs, fetch, cancel)
	root.AddCommand(group)
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// waitFor follows a job until it ends: a live line on a terminal, one line per change elsewhere.
func waitFor(cmd *cobra.Command, c *jobclient.Client, jobID string) error {
	errw := cmd.ErrOrStderr()
	tty := isTerminal(errw)
	start := time.Now()
	j, err := c.Wait(cmd.Context(), jobID, 5*time.Second, func(j jobs.Job) {
		if tty {
			fmt.Fprintf(errw, "\r\033[K%s (%s)", jobclient.Describe(j), time.Since(start).Round(time.Second))
		} else {
			fmt.Fprintln(errw, jobclient.Describe(j))
		}
	})
	if tty {
		fmt.Fprintln(errw)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), jobclient.Describe(j))
	if j.State != jobs.StateSucceeded {
		return fmt.Errorf("job %s %s", jobID, j.State)
	}
	return nil
}
