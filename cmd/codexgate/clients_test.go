package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
)

// nodeModule finds node and a pinned npm package that `make tools` installs
// into .tools/DIR (the package's package.json at node_modules/PKG), and
// returns node and that node_modules directory (NODE_PATH). Without them the
// test is skipped (see missingClient).
func nodeModule(t *testing.T, dir, pkg string) (node, modules string) {
	t.Helper()
	modules = filepath.Join(testsupport.RepoRoot(t), ".tools", dir, "node_modules")
	node, err := exec.LookPath("node")
	_, serr := os.Stat(filepath.Join(modules, pkg, "package.json"))
	if err == nil && serr == nil {
		return node, modules
	}
	missingClient(t, "node or npm package "+pkg+" (.tools/"+dir+") is missing: run `make tools`")
	return "", ""
}

// nodeScript is node running testdata/SCRIPT (from the package directory)
// with args, in env with modules (see nodeModule) as NODE_PATH.
func nodeScript(ctx context.Context, node, modules string, env []string, script string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(env, "NODE_PATH="+modules)
	return cmd
}

// runClient runs a real client (Codex CLI, Claude Code) in a process group
// of its own, killed whole when ctx ends and afterwards (clients leave
// helpers behind), and returns what it printed.
func runClient(ctx context.Context, cmd *exec.Cmd) (stdout, stderr string, err error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // stragglers; usually none
	}
	return out.String(), errb.String(), err
}

// missingClient skips the test because a real client is not installed, or
// fails it with CI=true, where a missing client is a broken pipeline.
func missingClient(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing client is a failure)")
	}
	t.Skip(msg)
}

// pinnedBin is the pinned npm client NAME that `make tools` installs into
// .tools/DIR, or "" when it is not there.
func pinnedBin(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(testsupport.RepoRoot(t), ".tools", dir, "node_modules", ".bin", name)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// clientDirs makes a HOME of its own for one real client and the working
// directory it runs in (HOME/work).
func clientDirs(t *testing.T) (home, workdir string) {
	t.Helper()
	home = t.TempDir()
	workdir = filepath.Join(home, "work")
	if err := os.MkdirAll(workdir, 0o700); err != nil {
		t.Fatal(err)
	}
	return home, workdir
}

// clientEnv is the environment a real client CLI runs in: PATH, its own
// HOME, and nothing but the loopback (anything else it tries fails fast),
// plus extra.
func clientEnv(home string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TMPDIR=" + os.TempDir(),
		"HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}, extra...)
}

// nodeOutput runs a Node SDK script against srv and returns its stdout;
// when it fails, t fails with its stderr and what serve logged.
func nodeOutput(t *testing.T, srv *server, cmd *exec.Cmd) []byte {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s\nserve:\n%s", err, stderr.String(), srv.logs)
	}
	return out
}

// mustAnswer runs a real client CLI (see runClient) against srv and fails
// the test, showing what the client and serve printed, unless it printed
// the simulator's answer. what names the command in messages.
func (s *stack) mustAnswer(ctx context.Context, srv *server, label, what string, cmd *exec.Cmd) string {
	s.t.Helper()
	out, errb, err := runClient(ctx, cmd)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		s.t.Fatalf("%s: %s timed out\nstderr:\n%s\nserve:\n%s", label, what, errb, srv.logs)
	}
	if err != nil || !strings.Contains(out, openaisim.DefaultAnswer) {
		s.t.Fatalf("%s: %s: %v\nstdout:\n%s\nstderr:\n%s\nserve:\n%s\nsim stats: %+v",
			label, what, err, out, errb, srv.logs, s.sim.Stats())
	}
	return out
}
