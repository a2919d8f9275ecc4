package jobagent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"
)

// MetadataAddresses are the instance metadata service's addresses (IPv4, and IPv6 on Nitro instances):
// EC2 User Guide, "Access instance metadata for an EC2 instance".
var MetadataAddresses = []string{"169.254.169.254", "fd00:ec2::254"}

// Sandbox runs each job in its own transient systemd scope as an unprivileged user, with the instance
// metadata service out of reach: hop limit 1 stops containers, not a process on the host, and through
// the metadata service a job could read the worker role's credentials (and with them every other job's
// inputs and outputs, the queue and the table).
//
// The job's process is started by `systemd-run --scope`, which asks systemd for a scope unit holding
// itself, waits until systemd has set it up, drops to the user and execs the job: the job keeps the
// agent's environment, working directory, standard output and process group, and everything it starts
// stays in the scope's cgroup, which it cannot leave. IPAddressDeny= (systemd.resource-control, since
// systemd 235; Amazon Linux 2023 ships systemd 252 with the unified cgroup hierarchy its BPF filters
// need) drops every packet of the scope to or from those addresses, whatever socket the job opens.
// The agent itself runs outside the scope and keeps reaching the metadata service.
type Sandbox struct {
	// User jobs run as (systemd-run --uid; its primary group too). Required.
	User string
	// SystemdRun is the systemd-run program. Default: - /usr/bin/systemd-run
	SystemdRun string
	// Systemctl stops a job's scope after the job, with whatever it left running. Default: - /usr/bin/systemctl
	Systemctl string
	// Deny: addresses the job may not reach. Default: - MetadataAddresses
	Deny []string
}

func (s *Sandbox) defaults() {
	if s.SystemdRun == "" {
		s.SystemdRun = "/usr/bin/systemd-run"
	}
	if s.Systemctl == "" {
		s.Systemctl = "/usr/bin/systemctl"
	}
	if s.Deny == nil {
		s.Deny = MetadataAddresses
	}
}

var unitUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

// Unit is the scope of a job attempt: stratolab-job-<job_id>-<attempt>.scope.
func (s *Sandbox) Unit(jobID string, attempt int) string {
	return fmt.Sprintf("stratolab-job-%s-%d.scope", unitUnsafe.ReplaceAllString(jobID, "_"), attempt)
}

// Command is the command line that runs argv in the sandbox, with home as its HOME (systemd-run sets
// HOME to the user's home; --setenv wins over it).
func (s *Sandbox) Command(unit, home string, argv []string) []string {
	s.defaults()
	cmd := []string{s.SystemdRun, "--scope", "--quiet", "--collect", "--unit=" + unit,
		"--uid=" + s.User, "--gid=" + s.User, "--setenv=HOME=" + home}
	for _, a := range s.Deny {
		cmd = append(cmd, "--property=IPAddressDeny="+a)
	}
	return append(append(cmd, "--"), argv...)
}

// Stop stops a job's scope: SIGTERM, then SIGKILL, to whatever the job left behind (best effort).
func (s *Sandbox) Stop(ctx context.Context, unit string) error {
	s.defaults()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.Systemctl, "stop", unit).CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl stop %s: %v: %s", unit, err, out)
	}
	return nil
}

// rootCredential runs systemd-run as the agent (root), with no supplementary groups: systemd-run
// changes only the user and group IDs before it execs the job (setresgid, setresuid).
func rootCredential() *syscall.Credential {
	if os.Getuid() != 0 {
		return nil // tests: nothing to drop
	}
	return &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Groups: []uint32{}}
}

// ProbeArg makes cmd/stratolab-worker probe the metadata service instead of running the agent.
const ProbeArg = "--probe-metadata"

// ProbeExitReachable is the probe's exit code when the metadata service answered a connection.
const ProbeExitReachable = 3

// Probe tries a TCP connection to each address's port 80 and returns ProbeExitReachable if one
// succeeds, 0 if none does.
func Probe(addrs []string, port string, timeout time.Duration) int {
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(a, port), timeout)
		if err == nil {
			c.Close()
			return ProbeExitReachable
		}
	}
	return 0
}

// CheckSandbox runs self with ProbeArg in the sandbox, as a job would run, and fails if the job could
// reach the metadata service: a worker whose systemd cannot filter addresses must not run jobs.
func (s *Sandbox) CheckSandbox(ctx context.Context, self, home string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	argv := s.Command(s.Unit("probe", os.Getpid()), home, []string{self, ProbeArg})
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: rootCredential()}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit) && exit.ExitCode() == ProbeExitReachable:
		return fmt.Errorf("a job could reach the instance metadata service (%v) despite IPAddressDeny=: refusing to run jobs", s.Deny)
	default:
		return fmt.Errorf("cannot run the metadata probe in the job sandbox: %v: %s", err, out)
	}
}
