// Package demo is a fake control module and a fake login for the control page's local mode
// (`stratolab control serve --demo`) and its browser test: two environments whose targets turn ready
// one by one, a fixed step apart, after a start (and stopped, in reverse order, after a stop).
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stratolab/stratolab/internal/controlapi"
	"github.com/stratolab/stratolab/internal/controlpage"
)

type stageDef struct {
	name, wait string
	targets    []controlapi.Target
}

type envDef struct {
	name     string
	stages   []stageDef
	schedule *controlapi.Schedule
}

// Service is a fake controlapi.Service. Each target takes Step to reach its wanted state, one after the
// other in run order. Safe for concurrent use.
type Service struct {
	// Step is how long each target takes. Default: - one second
	Step time.Duration
	// Now is the clock. Default: - time.Now
	Now func() time.Time

	mu    sync.Mutex
	envs  []envDef
	state map[string]map[string]string // env -> target ID -> "running" | "stopped"
	runs  map[string][]*controlapi.Run // env -> runs, oldest first
	seq   int
}

// NewService returns the demo's environments, every target stopped: staging (directory, data, app:
// five EC2 instances, the seed's case) and training (one Auto Scaling group and a module).
func NewService(step time.Duration) *Service {
	ec2 := func(id, name string) controlapi.Target {
		return controlapi.Target{Kind: "ec2", ID: id, Name: name}
	}
	s := &Service{Step: step, Now: time.Now, state: map[string]map[string]string{}, runs: map[string][]*controlapi.Run{}}
	s.envs = []envDef{
		{name: "staging", stages: []stageDef{
			{name: "directory", wait: "status_checks", targets: []controlapi.Target{ec2("i-0a1b2c3d4e5f60001", "ad01")}},
			{name: "data", wait: "status_checks", targets: []controlapi.Target{ec2("i-0a1b2c3d4e5f60002", "sqlsvr"), ec2("i-0a1b2c3d4e5f60003", "filesvr")}},
			{name: "app", wait: "running", targets: []controlapi.Target{ec2("i-0a1b2c3d4e5f60004", "app01"), ec2("i-0a1b2c3d4e5f60005", "app02")}},
		}, schedule: &controlapi.Schedule{Timezone: "Europe/Berlin", Start: "08:00", Stop: "19:00", Days: []string{"mon-fri"}}},
		{name: "training", stages: []stageDef{
			{name: "database", wait: "running", targets: []controlapi.Target{{Kind: "module:lookup", ID: "lookup-db", Name: "lookup database"}}},
			{name: "workers", wait: "running", targets: []controlapi.Target{{Kind: "autoscaling", ID: "training-workers", Name: "workers"}}},
		}},
	}
	for _, e := range s.envs {
		m := map[string]string{}
		for _, st := range e.stages {
			for _, t := range st.targets {
				m[t.ID] = "stopped"
			}
		}
		s.state[e.name] = m
	}
	return s
}

func (s *Service) step() time.Duration {
	if s.Step <= 0 {
		return time.Second
	}
	return s.Step
}

func (s *Service) env(name string) (*envDef, error) {
	for i := range s.envs {
		if s.envs[i].name == name {
			return &s.envs[i], nil
		}
	}
	return nil, fmt.Errorf("environment %q: %w (the demo has staging and training)", name, controlapi.ErrUnknownEnvironment)
}

// order returns the stages in the order a run of action visits them.
func order(e *envDef, action controlapi.Action) []stageDef {
	out := append([]stageDef(nil), e.stages...)
	if action == controlapi.Stop {
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	return out
}

// advance brings every run of env up to now: a running run's k-th target (in run order) is done at
// StartedAt + k*Step; a run is done when its last target is.
func (s *Service) advance(e *envDef) {
	now := s.Now()
	for _, r := range s.runs[e.name] {
		if r.Status != controlapi.RunRunning {
			continue
		}
		elapsed := now.Sub(r.StartedAt)
		done := int(elapsed / s.step())
		want := "running"
		if r.Action == controlapi.Stop {
			want = "stopped"
		}
		k := 0
		allDone := true
		for i, st := range order(e, r.Action) {
			p := &r.Stages[i]
			p.Ready = 0
			for _, t := range st.targets {
				k++
				if k <= done {
					p.Ready++
					s.state[e.name][t.ID] = want
				}
			}
			startAt := r.StartedAt.Add(time.Duration(k-len(st.targets)) * s.step())
			switch {
			case p.Ready == p.Total:
				p.Status = controlapi.StageReady
				d := r.StartedAt.Add(time.Duration(k) * s.step()).UTC()
				p.Done, p.Message = &d, ""
				if p.Started == nil {
					st := startAt.UTC()
					p.Started = &st
				}
			case !now.Before(startAt):
				p.Status = controlapi.StageWaiting
				st := startAt.UTC()
				p.Started = &st
				p.Message = fmt.Sprintf("waiting for %s: %d of %d", want, p.Ready, p.Total)
				allDone = false
			default:
				p.Status = controlapi.StagePending
				allDone = false
			}
		}
		if allDone {
			r.Status = controlapi.RunSucceeded
			t := r.StartedAt.Add(time.Duration(k) * s.step()).UTC()
			r.StoppedAt = &t
		}
	}
}

// Environments lists staging and training.
func (s *Service) Environments(context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.envs {
		out = append(out, e.name)
	}
	return out, nil
}

// Environment returns an environment with each target's state now.
func (s *Service) Environment(_ context.Context, name string) (controlapi.Environment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.env(name)
	if err != nil {
		return controlapi.Environment{}, err
	}
	s.advance(e)
	out := controlapi.Environment{Name: e.name, Stages: []controlapi.Stage{}}
	var running *controlapi.Run
	for _, r := range s.runs[e.name] {
		if r.Status == controlapi.RunRunning {
			running = r
		}
	}
	for _, st := range e.stages {
		stage := controlapi.Stage{Name: st.name, Wait: st.wait}
		for _, t := range st.targets {
			t.State = s.state[e.name][t.ID]
			if running != nil && t.State != wanted(running.Action) {
				t.State = map[controlapi.Action]string{controlapi.Start: "pending", controlapi.Stop: "stopping"}[running.Action]
			}
			if t.State == "running" && st.wait == "status_checks" {
				t.Checks = "ok"
			}
			if last := s.lastRun(e.name); last != nil {
				t.LastAction, t.LastActionBy = string(last.Action), last.StartedBy
				at := last.StartedAt
				t.LastActionAt = &at
			}
			stage.Targets = append(stage.Targets, t)
		}
		out.Stages = append(out.Stages, stage)
	}
	if e.schedule != nil {
		sc := *e.schedule
		now := s.Now().UTC()
		next := now.Truncate(24 * time.Hour).Add(24*time.Hour + 7*time.Hour)
		stop := next.Add(11 * time.Hour)
		sc.NextStart, sc.NextStop = &next, &stop
		out.Schedule = &sc
	}
	if running != nil {
		r := copyRun(running)
		out.Running = &r
	}
	return out, nil
}

func wanted(a controlapi.Action) string {
	if a == controlapi.Stop {
		return "stopped"
	}
	return "running"
}

func (s *Service) lastRun(env string) *controlapi.Run {
	rs := s.runs[env]
	if len(rs) == 0 {
		return nil
	}
	return rs[len(rs)-1]
}

func copyRun(r *controlapi.Run) controlapi.Run {
	c := *r
	c.Stages = append([]controlapi.StageProgress(nil), r.Stages...)
	return c
}

// Runs returns the latest runs, newest first.
func (s *Service) Runs(_ context.Context, name string, limit int) ([]controlapi.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.env(name)
	if err != nil {
		return nil, err
	}
	s.advance(e)
	out := []controlapi.Run{}
	rs := s.runs[name]
	for i := len(rs) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, copyRun(rs[i]))
	}
	return out, nil
}

// Run returns one run.
func (s *Service) Run(_ context.Context, name, id string) (controlapi.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.env(name)
	if err != nil {
		return controlapi.Run{}, err
	}
	s.advance(e)
	for _, r := range s.runs[name] {
		if r.ID == id {
			return copyRun(r), nil
		}
	}
	return controlapi.Run{}, fmt.Errorf("environment %s has no run %q", name, id)
}

// StartRun starts a run, or returns a *controlapi.BusyError while one is going.
func (s *Service) StartRun(_ context.Context, name string, action controlapi.Action, by string) (controlapi.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.env(name)
	if err != nil {
		return controlapi.Run{}, err
	}
	if !action.Valid() {
		return controlapi.Run{}, fmt.Errorf("action %q: want start or stop", action)
	}
	s.advance(e)
	for _, r := range s.runs[name] {
		if r.Status == controlapi.RunRunning {
			return controlapi.Run{}, &controlapi.BusyError{Environment: name, Running: copyRun(r)}
		}
	}
	s.seq++
	now := s.Now().UTC()
	r := &controlapi.Run{ID: fmt.Sprintf("%s-%s-%d", name, action, s.seq), Environment: name, Action: action,
		Status: controlapi.RunRunning, StartedBy: by, StartedAt: now}
	for _, st := range order(e, action) {
		r.Stages = append(r.Stages, controlapi.StageProgress{Name: st.name, Status: controlapi.StagePending, Total: len(st.targets)})
	}
	s.runs[name] = append(s.runs[name], r)
	s.advance(e)
	return copyRun(r), nil
}

// Users are the demo's fake accounts: alice may start and stop staging, bob training, and walter only
// watches (the demo serves with WatchAll).
var Users = []struct {
	Name   string
	Groups []string
}{
	{"alice", []string{controlpage.Group("staging")}},
	{"bob", []string{controlpage.Group("training")}},
	{"walter", nil},
}

// Login is the demo's fake login: POST /demo/login {"user": name} returns a random access token for
// that user, which Identify then accepts as a Bearer token. It is a stand-in for Cognito, not a login:
// use it on localhost only.
type Login struct {
	mu     sync.Mutex
	tokens map[string]controlpage.Identity
}

// NewLogin returns a fake login with no one logged in.
func NewLogin() *Login { return &Login{tokens: map[string]controlpage.Identity{}} }

// DemoUsers describes Users for the page's login form.
func DemoUsers() []controlpage.DemoUser {
	var out []controlpage.DemoUser
	for _, u := range Users {
		d := "watches every environment"
		if len(u.Groups) > 0 {
			d = "in " + strings.Join(u.Groups, ", ")
		}
		out = append(out, controlpage.DemoUser{Name: u.Name, Description: d})
	}
	return out
}

// Identify accepts a token the login handed out.
func (l *Login) Identify(r *http.Request) (controlpage.Identity, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return controlpage.Identity{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	id, ok := l.tokens[tok]
	return id, ok
}

// ServeHTTP is POST /demo/login.
func (l *Login) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User string `json:"user"`
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024)).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"want {\"user\": name}"}` + "\n"))
		return
	}
	for _, u := range Users {
		if u.Name == req.User {
			b := make([]byte, 16)
			rand.Read(b)
			tok := "demo-" + hex.EncodeToString(b)
			l.mu.Lock()
			l.tokens[tok] = controlpage.Identity{User: u.Name, Groups: u.Groups}
			l.mu.Unlock()
			json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "token_type": "Bearer"})
			return
		}
	}
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(`{"error":"no such demo user"}` + "\n"))
}

// Handler returns the page in demo mode over a fresh Service with the given step: the same handler as
// in the Lambda, with the fake login, and WatchAll on so that walter can watch.
func Handler(step time.Duration) (http.Handler, *Service, error) {
	svc := NewService(step)
	login := NewLogin()
	h, err := controlpage.New(controlpage.Options{
		Service:  svc,
		Auth:     login,
		WatchAll: true,
		Page:     controlpage.PageConfig{Demo: true, DemoUsers: DemoUsers()},
		Extra:    map[string]http.Handler{"POST /demo/login": login},
	})
	return h, svc, err
}
