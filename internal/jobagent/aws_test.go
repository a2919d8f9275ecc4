package jobagent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/stratolab/stratolab/internal/jobagent"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeIMDS answers as the EC2 instance metadata service does with IMDSv2 required (the launch template's
// HttpTokens: required): PUT /latest/api/token gives a token, and a GET without it is refused with 401.
// The notice paths answer 404 until there is a notice (EC2 User Guide, "Spot Instance interruption
// notices": spot/instance-action {"action": "terminate", "time": "2017-09-18T08:22:00Z"}; "EC2 instance
// rebalance recommendations": events/recommendations/rebalance {"noticeTime": "2020-10-27T08:22:00Z"}).
func fakeIMDS(t *testing.T, paths map[string]string) *imds.Client {
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut && r.URL.Path == "/latest/api/token" {
			w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
			_, _ = w.Write([]byte("tok"))
			return
		}
		if r.Header.Get("X-Aws-Ec2-Metadata-Token") != "tok" {
			http.Error(w, "", http.StatusUnauthorized)
			return
		}
		body, ok := paths[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return imds.New(imds.Options{Endpoint: srv.URL})
}

func TestIMDSNotices(t *testing.T) {
	at := time.Date(2017, 9, 18, 8, 22, 0, 0, time.UTC)
	for _, c := range []struct {
		name  string
		paths map[string]string
		want  jobagent.Notice
	}{
		{"none", map[string]string{}, jobagent.Notice{}},
		{"rebalance recommendation", map[string]string{"/latest/meta-data/events/recommendations/rebalance": `{"noticeTime": "2020-10-27T08:22:00Z"}`},
			jobagent.Notice{Kind: jobagent.NoticeRebalance}},
		{"interruption", map[string]string{
			"/latest/meta-data/events/recommendations/rebalance": `{"noticeTime": "2017-09-18T08:20:00Z"}`,
			"/latest/meta-data/spot/instance-action":             `{"action": "terminate", "time": "2017-09-18T08:22:00Z"}`},
			jobagent.Notice{Kind: jobagent.NoticeInterruption, At: at}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := jobagent.IMDS{API: fakeIMDS(t, c.paths)}.Notice(context.Background())
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

type fakeCWL struct {
	mu      sync.Mutex
	streams []string
	batches [][]string
}

func (f *fakeCWL) CreateLogStream(_ context.Context, in *cloudwatchlogs.CreateLogStreamInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogStreamOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streams = append(f.streams, *in.LogGroupName+":"+*in.LogStreamName)
	return &cloudwatchlogs.CreateLogStreamOutput{}, nil
}

func (f *fakeCWL) PutLogEvents(_ context.Context, in *cloudwatchlogs.PutLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutLogEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b []string
	last := int64(0)
	for _, e := range in.LogEvents {
		if *e.Timestamp < last {
			panic("PutLogEvents: events out of chronological order")
		}
		last = *e.Timestamp
		b = append(b, *e.Message)
	}
	f.batches = append(f.batches, b)
	return &cloudwatchlogs.PutLogEventsOutput{}, nil
}

func TestCloudWatchLogsStreamsLinesAndFlushesOnClose(t *testing.T) {
	api := &fakeCWL{}
	s, err := jobagent.CloudWatchLogs{API: api, Group: "/g", FlushEvery: time.Hour}.Open(context.Background(), "j1/i-1")
	require.NoError(t, err)
	_, _ = s.Write([]byte("one\ntw"))
	_, _ = s.Write([]byte("o\n\nthree"))
	require.NoError(t, s.Close(context.Background()))
	assert.Equal(t, []string{"/g:j1/i-1"}, api.streams)
	assert.Equal(t, [][]string{{"one", "two", " ", "three"}}, api.batches)
}
