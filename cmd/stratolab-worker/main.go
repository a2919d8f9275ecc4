// Command stratolab-worker is the agent every job worker runs (as root, under systemd; the launch
// template installs it from an asset). It takes jobs from its class's queue and runs each as the
// unprivileged JOB_RUN_AS user: see internal/jobagent for what it does, and the README's "Jobs" section
// for its contract.
//
// Environment (the launch template writes it to /etc/stratolab-worker.env):
//
//	JOB_CLASS, JOB_QUEUE_URL, JOBS_BUCKET, JOBS_TABLE   required
//	JOB_LOG_GROUP                 CloudWatch log group of job output (default: output only in outputs/<job>/job.log)
//	JOB_EVENTS_TOPIC_ARN          SNS topic for job events (default: none)
//	JOB_RUN_AS                    user jobs run as (default: stratolab-job; "" keeps the agent's user)
//	JOB_SANDBOX                   "systemd" (default): each job runs in a systemd scope that cannot reach the
//	                              instance metadata service (IPAddressDeny=); the agent checks it at start and
//	                              exits 1 if a job could; "none" runs jobs directly as JOB_RUN_AS
//	JOB_WORK_DIR                  where job directories go (default: /var/lib/stratolab-worker)
//	JOB_DEFAULT_TIMEOUT_SECONDS   limit of a job that names none (default and most: 41400, 11.5 hours)
//	JOB_VISIBILITY_SECONDS        how long a received job stays hidden between heartbeats (default: 600)
//	JOB_IDLE_EXIT_SECONDS         leave the fleet (down to its minimum) after this long without a job (default: never)
//	JOB_MAX_RECEIVE_COUNT         the queue's redrive limit: the last delivery ends as failed, not interrupted (default: none)
//	AWS_REGION                    the region (default: from the instance metadata)
//
// Exit codes: 0 after SIGTERM/SIGINT (a running job is returned to the queue and marked interrupted),
// 2 on a configuration error, 1 on any other failure to start.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stratolab/stratolab/internal/jobagent"
	"github.com/stratolab/stratolab/internal/jobs"
)

type configError struct{ error }

func main() {
	if len(os.Args) == 2 && os.Args[1] == jobagent.ProbeArg {
		// Run in the job sandbox by the agent at start: can a job reach the metadata service?
		os.Exit(jobagent.Probe(jobagent.MetadataAddresses, "80", 2*time.Second))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := run(ctx, log)
	var ce configError
	switch {
	case errors.As(err, &ce):
		log.Error("configuration", "err", err)
		os.Exit(2)
	case err != nil:
		log.Error("cannot start", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger) error {
	env := func(k, def string) string {
		if v, ok := os.LookupEnv(k); ok {
			return v
		}
		return def
	}
	var missing []string
	for _, k := range []string{"JOB_CLASS", "JOB_QUEUE_URL", "JOBS_BUCKET", "JOBS_TABLE"} {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return configError{fmt.Errorf("missing %v in the environment", missing)}
	}
	seconds := func(k string, def int) (time.Duration, error) {
		v, err := strconv.Atoi(env(k, strconv.Itoa(def)))
		if err != nil || v <= 0 {
			return 0, configError{fmt.Errorf("%s=%q is not a positive number of seconds", k, os.Getenv(k))}
		}
		return time.Duration(v) * time.Second, nil
	}
	timeout, err := seconds("JOB_DEFAULT_TIMEOUT_SECONDS", int(jobs.MaxTimeout/time.Second))
	if err != nil {
		return err
	}
	visibility, err := seconds("JOB_VISIBILITY_SECONDS", 600)
	if err != nil {
		return err
	}
	var idle time.Duration
	maxReceives := 0
	if v := os.Getenv("JOB_MAX_RECEIVE_COUNT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return configError{fmt.Errorf("JOB_MAX_RECEIVE_COUNT=%q is not a positive number", v)}
		}
		maxReceives = n
	}
	if os.Getenv("JOB_IDLE_EXIT_SECONDS") != "" {
		if idle, err = seconds("JOB_IDLE_EXIT_SECONDS", 0); err != nil {
			return err
		}
	}
	if visibility > 12*time.Hour {
		return configError{fmt.Errorf("JOB_VISIBILITY_SECONDS=%d is over SQS's 43200", int(visibility/time.Second))}
	}
	var runAs *syscall.Credential
	var sandbox *jobagent.Sandbox
	if name := env("JOB_RUN_AS", "stratolab-job"); name != "" {
		// Jobs run in a systemd scope that cannot reach the instance metadata service (the worker
		// role's credentials); JOB_SANDBOX=none only for hosts without systemd (not the fleets').
		if env("JOB_SANDBOX", "systemd") != "none" {
			sandbox = &jobagent.Sandbox{User: name}
		}
		u, err := user.Lookup(name)
		if err != nil {
			return configError{fmt.Errorf("JOB_RUN_AS=%s: %w", name, err)}
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		runAs = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	meta := imds.NewFromConfig(cfg)
	if cfg.Region == "" {
		r, err := meta.GetRegion(ctx, &imds.GetRegionInput{})
		if err != nil {
			return fmt.Errorf("no AWS_REGION and no region from the instance metadata: %w", err)
		}
		cfg.Region = r.Region
	}
	id, err := meta.GetMetadata(ctx, &imds.GetMetadataInput{Path: "instance-id"})
	if err != nil {
		return fmt.Errorf("read the instance ID: %w", err)
	}
	idb, err := io.ReadAll(id.Content)
	id.Content.Close()
	if err != nil {
		return fmt.Errorf("read the instance ID: %w", err)
	}
	instanceID := string(idb)

	a := &jobagent.Agent{
		Config: jobagent.Config{
			Class: os.Getenv("JOB_CLASS"), Bucket: os.Getenv("JOBS_BUCKET"), InstanceID: instanceID,
			LogGroup: os.Getenv("JOB_LOG_GROUP"), WorkDir: env("JOB_WORK_DIR", "/var/lib/stratolab-worker"),
			RunAs: runAs, Sandbox: sandbox, Visibility: visibility, DefaultTimeout: timeout, IdleExit: idle, MaxReceives: maxReceives,
		},
		Queue: jobs.SQSQueue{API: sqs.NewFromConfig(cfg), URL: os.Getenv("JOB_QUEUE_URL")},
		Table: jobs.DynamoTable{API: dynamodb.NewFromConfig(cfg), Name: os.Getenv("JOBS_TABLE")},
		S3:    s3.NewFromConfig(cfg),
		Meta:  jobagent.IMDS{API: meta},
		Log:   log,
	}
	fleet := &jobagent.Fleet{API: autoscaling.NewFromConfig(cfg), InstanceID: instanceID}
	a.Protect, a.Leave = fleet, fleet
	if g := os.Getenv("JOB_LOG_GROUP"); g != "" {
		a.Logs = jobagent.CloudWatchLogs{API: cloudwatchlogs.NewFromConfig(cfg), Group: g}
	}
	if t := os.Getenv("JOB_EVENTS_TOPIC_ARN"); t != "" {
		a.Events = jobagent.Topic{API: sns.NewFromConfig(cfg), ARN: t}
	}
	if err := os.MkdirAll(a.WorkDir, 0o711); err != nil {
		return err
	}
	if sandbox != nil {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		if err := sandbox.CheckSandbox(ctx, self, a.WorkDir); err != nil {
			return err
		}
	}
	log.Info("taking jobs", "class", a.Class, "instance", instanceID, "queue", os.Getenv("JOB_QUEUE_URL"))
	return a.Run(ctx)
}
