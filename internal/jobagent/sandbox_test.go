package jobagent_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratolab/stratolab/internal/jobagent"
	"github.com/stratolab/stratolab/internal/jobs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The job runs under `systemd-run --scope` with IPAddressDeny= for both metadata addresses, as the job
// user, so that it cannot read the worker role's credentials while the agent (outside the scope) still can.
// Rules encoded (systemd-run(1), systemd.resource-control(5), systemd 252 as on Amazon Linux 2023):
// --scope execs the command itself (same PID, environment, cwd, stdio) after systemd has moved it into
// the scope; --uid/--gid are applied by systemd-run before exec in scope mode; IPAddressDeny= takes
// addresses and applies to scope units; the instance metadata service is 169.254.169.254 and, on
// Nitro instances with IPv6, fd00:ec2::254 (EC2 User Guide, "Instance metadata service endpoints").
func TestSandboxCommandDeniesTheMetadataServiceToTheJobUser(t *testing.T) {
	s := &jobagent.Sandbox{User: "stratolab-job"}
	unit := s.Unit("j20261201-120000-abc/../x", 2)
	assert.Equal(t, "stratolab-job-j20261201-120000-abc_.._x-2.scope", unit)
	assert.Equal(t, []string{
		"/usr/bin/systemd-run", "--scope", "--quiet", "--collect", "--unit=" + unit,
		"--uid=stratolab-job", "--gid=stratolab-job", "--setenv=HOME=/work/j",
		"--property=IPAddressDeny=169.254.169.254", "--property=IPAddressDeny=fd00:ec2::254",
		"--", "python3", "run.py", "--x",
	}, s.Command(unit, "/work/j", []string{"python3", "run.py", "--x"}))
}

// fakeSystemd writes a systemd-run that records its arguments and execs what follows "--" (as the
// real one does in scope mode), and a systemctl that records its arguments.
func fakeSystemd(t *testing.T) (s *jobagent.Sandbox, runArgs, ctlArgs string) {
	dir := t.TempDir()
	runArgs, ctlArgs = filepath.Join(dir, "run.args"), filepath.Join(dir, "ctl.args")
	run := filepath.Join(dir, "systemd-run")
	require.NoError(t, os.WriteFile(run, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+runArgs+"\n"+
		"while [ \"$1\" != -- ]; do shift; done; shift\nexec \"$@\"\n"), 0o755))
	ctl := filepath.Join(dir, "systemctl")
	require.NoError(t, os.WriteFile(ctl, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" >> "+ctlArgs+"\n"), 0o755))
	return &jobagent.Sandbox{User: "stratolab-job", SystemdRun: run, Systemctl: ctl}, runArgs, ctlArgs
}

func TestAgentRunsEachJobInTheSandboxAndStopsItsScopeAfter(t *testing.T) {
	r := newRig(t, nil)
	sb, runArgs, ctlArgs := fakeSystemd(t)
	r.agent.Sandbox = sb
	r.submit(t, jobs.Spec{JobID: "boxed", Command: sh(`echo "home=$HOME" > "$JOB_OUTPUTS/o"`)})
	out, err := r.agent.Once(context.Background())
	require.NoError(t, err)
	assert.Equal(t, jobs.StateSucceeded, out.State)
	got, ok := getObject(t, r.s3, "outputs/boxed/o")
	require.True(t, ok)
	assert.Equal(t, "home="+filepath.Join(r.agent.WorkDir, "boxed-1")+"\n", got)

	args, err := os.ReadFile(runArgs)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(args)), "\n")
	assert.Equal(t, []string{"--scope", "--quiet", "--collect", "--unit=stratolab-job-boxed-1.scope", "--uid=stratolab-job", "--gid=stratolab-job",
		"--setenv=HOME=" + filepath.Join(r.agent.WorkDir, "boxed-1"),
		"--property=IPAddressDeny=169.254.169.254", "--property=IPAddressDeny=fd00:ec2::254", "--", "/bin/sh", "-c"}, lines[:12])
	stopped, err := os.ReadFile(ctlArgs)
	require.NoError(t, err)
	assert.Equal(t, "stop\nstratolab-job-boxed-1.scope\n", string(stopped))
}

func TestProbeReportsAReachableMetadataService(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	assert.Equal(t, jobagent.ProbeExitReachable, jobagent.Probe([]string{"127.0.0.1"}, port, time.Second))
	l.Close()
	assert.Equal(t, 0, jobagent.Probe([]string{"127.0.0.1"}, port, time.Second), "closed: not reachable")
}

// The agent refuses to run jobs when the probe, run in the sandbox as a job, reached the metadata service
// (a systemd without BPF address filtering only logs that it cannot apply IPAddressDeny=).
func TestCheckSandboxRejectsASandboxThatLetsJobsReachMetadata(t *testing.T) {
	sb, runArgs, _ := fakeSystemd(t)
	dir := t.TempDir()
	reach := filepath.Join(dir, "reach")
	require.NoError(t, os.WriteFile(reach, []byte("#!/bin/sh\n[ \"$1\" = "+jobagent.ProbeArg+" ] && exit 3\n"), 0o755))
	err := sb.CheckSandbox(context.Background(), reach, dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "could reach the instance metadata service")
	args, _ := os.ReadFile(runArgs)
	assert.Contains(t, string(args), "--property=IPAddressDeny=169.254.169.254\n")

	blocked := filepath.Join(dir, "blocked")
	require.NoError(t, os.WriteFile(blocked, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	assert.NoError(t, sb.CheckSandbox(context.Background(), blocked, dir))
}
