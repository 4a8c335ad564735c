package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
)

// running is a CLI process the test signals while it works.
type running struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan error
}

func (s *stack) start(args ...string) *running {
	s.t.Helper()
	r := &running{cmd: exec.Command(binary, args...), done: make(chan error, 1)}
	r.cmd.Env = s.env
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			r.mu.Lock()
			r.lines = append(r.lines, sc.Text())
			r.mu.Unlock()
		}
		r.done <- r.cmd.Wait()
	}()
	s.t.Cleanup(func() { r.cmd.Process.Kill() }) //nolint:errcheck // already gone when the test passed
	return r
}

func (r *running) stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// waitFor polls cond until it holds or a generous bound passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (r *running) exit(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(3 * time.Minute):
		t.Fatalf("process did not exit; stderr:\n%s", r.stderr())
	}
	return r.cmd.ProcessState.ExitCode()
}

// interruptedRefresh starts a forced refresh whose OAuth answer takes a few
// seconds and interrupts it once the token endpoint has the request: from
// then on OpenAI may rotate, and the new refresh token exists only in the
// CLI process until stored.
func interruptedRefresh(t *testing.T, s *stack) *running {
	file, _ := s.newLogin(openaisim.Account{Name: "ivy"})
	mustSucceed(t, s.run("import", "--account", "ivy", "--auth-file", file))
	s.sim.InjectFault(openaisim.Fault{Path: "/oauth/token", Delay: 3 * time.Second, Count: 1})
	r := s.start("refresh", "--account", "ivy", "--force")
	waitFor(t, "the refresh to reach the token endpoint", func() bool { return s.sim.Stats().FaultsApplied >= 1 })
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRefresh_InterruptFinishesStoring: Ctrl-C during a refresh waits for the
// rotated token to be stored, says so, and the login survives.
func TestRefresh_InterruptFinishesStoring(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	r := interruptedRefresh(t, s)
	if code := r.exit(t); code != exitInterrupted {
		t.Errorf("exit status %d, want %d", code, exitInterrupted)
	}
	if !strings.Contains(r.stderr(), "finishing a token refresh") {
		t.Errorf("stderr does not say it is finishing a refresh:\n%s", r.stderr())
	}
	// The rotated token was stored: the next refresh spends it, no reuse.
	mustSucceed(t, s.run("refresh", "--account", "ivy", "--force"))
	if st := s.sim.Stats(); st.Refreshes != 2 || st.ReuseRejections != 0 || st.LoginsRevoked != 0 {
		t.Fatalf("refreshes %d, reuse %d, logins revoked %d; want 2, 0, 0", st.Refreshes, st.ReuseRejections, st.LoginsRevoked)
	}
}

// TestRefresh_SecondInterruptForcesExit is the negative control: a second
// Ctrl-C exits at once with a loud warning, and the loss it warns of is real:
// the rotated token was never stored, the next refresh reuses the spent one
// and OpenAI revokes the login.
func TestRefresh_SecondInterruptForcesExit(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	r := interruptedRefresh(t, s)
	waitFor(t, "the finishing message", func() bool { return strings.Contains(r.stderr(), "finishing a token refresh") })
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := r.exit(t); code != 130 {
		t.Errorf("exit code %d, want 130", code)
	}
	if !strings.Contains(r.stderr(), "WARNING: forced exit") {
		t.Errorf("no warning on forced exit:\n%s", r.stderr())
	}
	waitFor(t, "the delayed refresh to be served", func() bool { return s.sim.Stats().Refreshes == 1 })
	res := s.run("refresh", "--account", "ivy", "--force")
	mustFail(t, res, 1, "needs re-login")
	if st := s.sim.Stats(); st.ReuseRejections != 1 || st.LoginsRevoked != 1 {
		t.Fatalf("reuse %d, logins revoked %d; want 1, 1", st.ReuseRejections, st.LoginsRevoked)
	}
}
