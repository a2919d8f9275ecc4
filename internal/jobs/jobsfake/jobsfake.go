// Package jobsfake holds in-memory stand-ins for a jobs queue and the jobs table, with the semantics
// the worker relies on: SQS's visibility timeout and receive count, and the table's conditional
// writes (the same conditions as jobs.DynamoTable's expressions). Tests of the agent and the CLI share them.
package jobsfake

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/stratolab/stratolab/internal/jobs"
)

// Queue is an SQS queue in memory. Now is its clock (time.Now when nil).
type Queue struct {
	mu     sync.Mutex
	next   int
	msgs   []*msg
	Now    func() time.Time
	Calls  []string // "send", "receive", "delete", "visibility <seconds>"
	recvID int
}

type msg struct {
	id, body, receipt string
	count             int
	visibleAt         time.Time
	deleted           bool
}

func (q *Queue) now() time.Time {
	if q.Now != nil {
		return q.Now()
	}
	return time.Now()
}

func (q *Queue) Send(_ context.Context, body string) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.next++
	id := fmt.Sprintf("m%d", q.next)
	q.msgs = append(q.msgs, &msg{id: id, body: body})
	q.Calls = append(q.Calls, "send")
	return id, nil
}

// Receive returns the first visible message at once (it does not wait).
func (q *Queue) Receive(_ context.Context, _, visibility time.Duration) ([]jobs.Message, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.Calls = append(q.Calls, "receive")
	now := q.now()
	for _, m := range q.msgs {
		if m.deleted || now.Before(m.visibleAt) {
			continue
		}
		m.count++
		q.recvID++
		m.receipt = fmt.Sprintf("%s-r%d", m.id, q.recvID)
		m.visibleAt = now.Add(visibility)
		return []jobs.Message{{ID: m.id, Receipt: m.receipt, Body: m.body, ReceiveCount: m.count}}, nil
	}
	return nil, nil
}

func (q *Queue) find(receipt string) (*msg, error) {
	for _, m := range q.msgs {
		if m.receipt == receipt && !m.deleted {
			return m, nil
		}
	}
	return nil, fmt.Errorf("ReceiptHandleIsInvalid: %s", receipt)
}

func (q *Queue) Delete(_ context.Context, receipt string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.Calls = append(q.Calls, "delete")
	m, err := q.find(receipt)
	if err != nil {
		return err
	}
	m.deleted = true
	return nil
}

func (q *Queue) SetVisibility(_ context.Context, receipt string, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.Calls = append(q.Calls, "visibility "+strconv.Itoa(int(d/time.Second)))
	m, err := q.find(receipt)
	if err != nil {
		return err
	}
	m.visibleAt = q.now().Add(d)
	return nil
}

// Pending is the number of messages not deleted; Visible those a receive would return now.
func (q *Queue) Pending() (pending, visible int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.msgs {
		if !m.deleted {
			pending++
			if !q.now().Before(m.visibleAt) {
				visible++
			}
		}
	}
	return pending, visible
}

// CallsOf counts the calls whose name starts with prefix.
func (q *Queue) CallsOf(prefix string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := 0
	for _, s := range q.Calls {
		if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			c++
		}
	}
	return c
}

// Table is the jobs table in memory.
type Table struct {
	mu    sync.Mutex
	items map[string]jobs.Job
}

func (t *Table) init() {
	if t.items == nil {
		t.items = map[string]jobs.Job{}
	}
}

func clone(j jobs.Job) jobs.Job {
	j.Command = slices.Clone(j.Command)
	if j.ExitCode != nil {
		c := *j.ExitCode
		j.ExitCode = &c
	}
	return j
}

func (t *Table) Put(_ context.Context, j jobs.Job) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	if _, ok := t.items[j.JobID]; ok {
		return fmt.Errorf("%s: %w", j.JobID, jobs.ErrExists)
	}
	t.items[j.JobID] = clone(j)
	return nil
}

func (t *Table) Get(_ context.Context, id string) (jobs.Job, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	j, ok := t.items[id]
	if !ok {
		return jobs.Job{}, fmt.Errorf("%s: %w", id, jobs.ErrNotFound)
	}
	return clone(j), nil
}

// Set replaces an item (for tests that start from a given state).
func (t *Table) Set(j jobs.Job) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	t.items[j.JobID] = clone(j)
}

func (t *Table) Claim(_ context.Context, c jobs.Claim) (jobs.Job, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	j, ok := t.items[c.Spec.JobID]
	claimable := !ok || j.State == jobs.StateQueued || j.State == jobs.StateInterrupted ||
		(j.State == jobs.StateRunning && j.HeartbeatAt < c.StaleBefore.Unix())
	if !claimable {
		return jobs.Job{}, &jobs.NotClaimableError{Current: clone(j)}
	}
	if !ok {
		j = jobs.Job{JobID: c.Spec.JobID}
	}
	if j.Class == "" {
		j.Class = c.Spec.Class
	}
	if j.Command == nil {
		j.Command = slices.Clone(c.Spec.Command)
	}
	j.State, j.StartedAt, j.HeartbeatAt, j.InstanceID = jobs.StateRunning, c.Now.Unix(), c.Now.Unix(), c.InstanceID
	j.LogGroup, j.LogStream = c.LogGroup, c.LogStream
	j.Attempts++
	j.ExitCode, j.Reason, j.FinishedAt = nil, "", 0
	t.items[j.JobID] = j
	return clone(j), nil
}

func (t *Table) Heartbeat(_ context.Context, id, inst string, now time.Time) (jobs.Job, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	j, ok := t.items[id]
	if !ok || j.State != jobs.StateRunning || j.InstanceID != inst {
		return jobs.Job{}, &jobs.LostError{Current: clone(j)}
	}
	j.HeartbeatAt = now.Unix()
	t.items[id] = j
	return clone(j), nil
}

func (t *Table) Finish(_ context.Context, f jobs.Finish) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	j, ok := t.items[f.JobID]
	if !ok || j.State != jobs.StateRunning || j.InstanceID != f.InstanceID {
		return &jobs.LostError{Current: clone(j)}
	}
	j.State, j.FinishedAt, j.CancelRequested = f.State, f.Now.Unix(), false
	if f.ExitCode != nil {
		c := *f.ExitCode
		j.ExitCode = &c
	}
	if f.Reason != "" {
		j.Reason = f.Reason
	}
	t.items[f.JobID] = j
	return nil
}

func (t *Table) Cancel(_ context.Context, id string, now time.Time) (jobs.Job, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	j, ok := t.items[id]
	switch {
	case !ok:
		return jobs.Job{}, fmt.Errorf("%s: %w", id, jobs.ErrNotFound)
	case j.State == jobs.StateQueued || j.State == jobs.StateInterrupted:
		j.State, j.FinishedAt, j.Reason = jobs.StateCancelled, now.Unix(), "cancelled before it ran"
	case j.State == jobs.StateRunning:
		j.CancelRequested = true
	default:
		return clone(j), fmt.Errorf("job %s has already ended: it is %s", id, j.State)
	}
	t.items[id] = j
	return clone(j), nil
}
