package jobagent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/jobs"
)

// BenchmarkAgentOverheadPerJob is the agent's own cost per job (make bench): receive the message, claim
// the job in the table, download 10 small inputs, run a trivial command (it copies the inputs to
// $JOB_OUTPUTS), upload the 10 outputs and the log, record the end and delete the message; S3 through the
// real SDK against the in-process S3 server, the queue and the table in memory. Target: under 100 ms.
func BenchmarkAgentOverheadPerJob(b *testing.B) {
	r := newRig(b, nil)
	r.agent.Logs, r.agent.Events = nil, nil
	var inputs []string
	for i := range 10 {
		k := fmt.Sprintf("uploads/bench/in%d.txt", i)
		putObject(b, r.s3, k, fmt.Sprintf("input %d\n", i))
		inputs = append(inputs, k)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := fmt.Sprintf("bench-%d", i)
		spec := jobs.Spec{JobID: id, Class: "prod", Command: []string{"/bin/sh", "-c", `cp "$JOB_INPUTS"/bench/* "$JOB_OUTPUTS"/`}, Inputs: inputs, SubmittedAt: time.Now().Unix()}
		if err := r.table.Put(ctx, jobs.Job{JobID: id, State: jobs.StateQueued}); err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(spec)
		_, _ = r.queue.Send(ctx, string(body))
		b.StartTimer()
		out, err := r.agent.Once(ctx)
		if err != nil || out.State != jobs.StateSucceeded {
			b.Fatalf("%+v %v", out, err)
		}
	}
}
