package jobagent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stratolab/stratolab/internal/jobs"
)

// The instance metadata paths of interruption notices (EC2 User Guide, "Spot Instance interruption
// notices" and "EC2 instance rebalance recommendations"): each answers 404 until a notice exists, then
// {"action": "terminate"|"stop"|"hibernate", "time": "2017-09-18T08:22:00Z"} and
// {"noticeTime": "2020-10-27T08:22:00Z"}.
const (
	PathInstanceAction = "spot/instance-action"
	PathRebalance      = "events/recommendations/rebalance"
)

// IMDSAPI is the part of *imds.Client the agent uses (IMDSv2: the client fetches a session token).
type IMDSAPI interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// IMDS reads the notices from the instance metadata service.
type IMDS struct{ API IMDSAPI }

func (m IMDS) get(ctx context.Context, path string) ([]byte, bool, error) {
	out, err := m.API.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
			return nil, false, nil
		}
		return nil, false, err
	}
	defer out.Content.Close()
	b, err := io.ReadAll(out.Content)
	return b, err == nil, err
}

// Notice returns the interruption notice if there is one, else the rebalance recommendation, else none.
func (m IMDS) Notice(ctx context.Context) (Notice, error) {
	if b, ok, err := m.get(ctx, PathInstanceAction); err != nil {
		return Notice{}, err
	} else if ok {
		return ParseInstanceAction(b)
	}
	if _, ok, err := m.get(ctx, PathRebalance); err != nil || !ok {
		return Notice{}, err
	}
	return Notice{Kind: NoticeRebalance}, nil
}

// ParseInstanceAction reads spot/instance-action.
func ParseInstanceAction(b []byte) (Notice, error) {
	var v struct {
		Action string `json:"action"`
		Time   string `json:"time"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return Notice{}, fmt.Errorf("%s: %w", PathInstanceAction, err)
	}
	at, err := time.Parse(time.RFC3339, v.Time)
	if err != nil {
		return Notice{}, fmt.Errorf("%s: time %q: %w", PathInstanceAction, v.Time, err)
	}
	return Notice{Kind: NoticeInterruption, At: at}, nil
}

// AutoScalingAPI is the part of *autoscaling.Client the agent uses.
type AutoScalingAPI interface {
	DescribeAutoScalingInstances(ctx context.Context, in *autoscaling.DescribeAutoScalingInstancesInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingInstancesOutput, error)
	SetInstanceProtection(ctx context.Context, in *autoscaling.SetInstanceProtectionInput, optFns ...func(*autoscaling.Options)) (*autoscaling.SetInstanceProtectionOutput, error)
	TerminateInstanceInAutoScalingGroup(ctx context.Context, in *autoscaling.TerminateInstanceInAutoScalingGroupInput, optFns ...func(*autoscaling.Options)) (*autoscaling.TerminateInstanceInAutoScalingGroupOutput, error)
}

// Fleet is this instance in its Auto Scaling group: Protector and Leaver.
type Fleet struct {
	API        AutoScalingAPI
	InstanceID string

	mu    sync.Mutex
	group string
}

func (f *Fleet) groupName(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.group != "" {
		return f.group, nil
	}
	out, err := f.API.DescribeAutoScalingInstances(ctx, &autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{f.InstanceID}})
	if err != nil {
		return "", err
	}
	if len(out.AutoScalingInstances) == 0 {
		return "", fmt.Errorf("instance %s is in no Auto Scaling group", f.InstanceID)
	}
	f.group = aws.ToString(out.AutoScalingInstances[0].AutoScalingGroupName)
	return f.group, nil
}

func (f *Fleet) Protect(ctx context.Context, on bool) error {
	g, err := f.groupName(ctx)
	if err != nil {
		return err
	}
	_, err = f.API.SetInstanceProtection(ctx, &autoscaling.SetInstanceProtectionInput{
		AutoScalingGroupName: aws.String(g), InstanceIds: []string{f.InstanceID}, ProtectedFromScaleIn: aws.Bool(on)})
	return err
}

// Leave terminates this instance; with shrink the group's desired capacity goes down by one (Auto Scaling
// refuses that below the group's minimum), without it the group launches a replacement.
func (f *Fleet) Leave(ctx context.Context, shrink bool) error {
	_, err := f.API.TerminateInstanceInAutoScalingGroup(ctx, &autoscaling.TerminateInstanceInAutoScalingGroupInput{
		InstanceId: aws.String(f.InstanceID), ShouldDecrementDesiredCapacity: aws.Bool(shrink)})
	return err
}

// SNSAPI is the part of *sns.Client the agent uses.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// Topic publishes job events as JSON.
type Topic struct {
	API SNSAPI
	ARN string
}

func (t Topic) Publish(ctx context.Context, e jobs.Event) error {
	b, _ := json.Marshal(e)
	_, err := t.API.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(t.ARN), Message: aws.String(string(b)),
		Subject: aws.String(fmt.Sprintf("job %s %s", e.JobID, e.State))})
	return err
}

// CloudWatchLogsAPI is the part of *cloudwatchlogs.Client the agent uses.
type CloudWatchLogsAPI interface {
	CreateLogStream(ctx context.Context, in *cloudwatchlogs.CreateLogStreamInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error)
	PutLogEvents(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error)
}

// CloudWatchLogs streams job output to a log group, one stream per job attempt.
type CloudWatchLogs struct {
	API   CloudWatchLogsAPI
	Group string
	// FlushEvery: how often buffered output goes out. Default: - 2 seconds
	FlushEvery time.Duration
}

func (c CloudWatchLogs) Open(ctx context.Context, stream string) (LogStream, error) {
	_, err := c.API.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(c.Group), LogStreamName: aws.String(stream)})
	var exists *cwtypes.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return nil, err
	}
	every := c.FlushEvery
	if every == 0 {
		every = 2 * time.Second
	}
	s := &cwStream{c: c, stream: stream, done: make(chan struct{}), stopped: make(chan struct{})}
	go s.loop(every)
	return s, nil
}

// PutLogEvents limits: a batch is at most 10,000 events and 1,048,576 bytes, counting 26 bytes per event;
// an event is at most 256 KiB (CloudWatch Logs API reference, PutLogEvents).
const (
	maxBatchEvents = 10000
	maxBatchBytes  = 1048576
	eventOverhead  = 26
	maxEventBytes  = 256*1024 - eventOverhead
)

type cwStream struct {
	c       CloudWatchLogs
	stream  string
	mu      sync.Mutex
	partial []byte
	events  []cwtypes.InputLogEvent
	err     error
	done    chan struct{}
	stopped chan struct{}
}

func (s *cwStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.add(s.partial[:i])
		s.partial = s.partial[i+1:]
	}
	for len(s.partial) >= maxEventBytes {
		s.add(s.partial[:maxEventBytes])
		s.partial = s.partial[maxEventBytes:]
	}
	return len(p), nil
}

func (s *cwStream) add(line []byte) {
	if len(line) == 0 {
		line = []byte(" ")
	}
	s.events = append(s.events, cwtypes.InputLogEvent{Message: aws.String(string(line)), Timestamp: aws.Int64(time.Now().UnixMilli())})
}

func (s *cwStream) loop(every time.Duration) {
	defer close(s.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.flush(context.Background())
		}
	}
}

func (s *cwStream) flush(ctx context.Context) {
	s.mu.Lock()
	events := s.events
	s.events = nil
	s.mu.Unlock()
	for len(events) > 0 {
		n, size := 0, 0
		for n < len(events) && n < maxBatchEvents && size+len(*events[n].Message)+eventOverhead <= maxBatchBytes {
			size += len(*events[n].Message) + eventOverhead
			n++
		}
		_, err := s.c.API.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
			LogGroupName: aws.String(s.c.Group), LogStreamName: aws.String(s.stream), LogEvents: events[:n]})
		if err != nil {
			var api smithy.APIError
			if errors.As(err, &api) {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
			}
		}
		events = events[n:]
	}
}

func (s *cwStream) Close(ctx context.Context) error {
	close(s.done)
	<-s.stopped
	s.mu.Lock()
	if len(s.partial) > 0 {
		s.add(s.partial)
		s.partial = nil
	}
	s.mu.Unlock()
	s.flush(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
