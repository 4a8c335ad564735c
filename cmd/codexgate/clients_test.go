package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// nodeModule finds node and a pinned npm package that `make tools` installs
// into .tools/DIR (the package's package.json at node_modules/PKG), and
// returns node and that node_modules directory (NODE_PATH). Without them the
// test is skipped, except with CI=true, where a missing client fails it.
func nodeModule(t *testing.T, dir, pkg string) (node, modules string) {
	t.Helper()
	modules = filepath.Join(testsupport.RepoRoot(t), ".tools", dir, "node_modules")
	node, err := exec.LookPath("node")
	_, serr := os.Stat(filepath.Join(modules, pkg, "package.json"))
	if err == nil && serr == nil {
		return node, modules
	}
	msg := "node or npm package " + pkg + " (.tools/" + dir + ") is missing: run `make tools`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing client is a failure)")
	}
	t.Skip(msg)
	return "", ""
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
