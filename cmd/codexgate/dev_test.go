package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// TestDevScript_Demo runs `make dev`'s script as a user on a machine without
// ~/.codex/auth.json would: it must come up in a labelled DEMO mode, print a
// curl line that answers, and leave no process behind after Ctrl-C.
func TestDevScript_Demo(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	cfg := testsupport.AWSConfig(t)
	root := testsupport.RepoRoot(t)
	home := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	// HOME moves Go's caches too: keep the test's, or dev.sh rebuilds the world.
	goEnv, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	gp := strings.Split(strings.TrimSpace(string(goEnv)), "\n")
	if len(gp) != 3 {
		t.Fatalf("go env: %q", goEnv)
	}
	env := cliEnv(map[string]string{
		"GOPATH":                  gp[0],
		"GOMODCACHE":              gp[1],
		"GOCACHE":                 gp[2],
		"CODEX_HOME":              "",
		"CODEXGATE_TABLE":         testsupport.NewTable(t, cfg),
		"CODEXGATE_SECRET_PREFIX": testsupport.SecretPrefix(t),
		"CODEXGATE_DEV_ADDR":      addr,
		"CODEXGATE_DEV_BUILD_DIR": filepath.Join(home, "build"),
		"HOME":                    home, // no ~/.codex/auth.json: demo mode
	})

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "dev.sh"))
	cmd.Dir = root
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's foreground group
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	done := make(chan error, 1)
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-done
	})

	var out strings.Builder
	var curl string
	var claudeLines []string
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			out.WriteString(line + "\n")
			if strings.HasPrefix(line, "curl ") {
				curl = line
			}
			if strings.HasPrefix(line, "export ANTHROPIC_") || strings.HasPrefix(line, "export DISABLE_TELEMETRY") || strings.HasPrefix(line, "claude ") {
				claudeLines = append(claudeLines, line)
			}
			if strings.HasPrefix(line, "Press Ctrl-C") && !signalled {
				signalled = true
				close(ready)
			}
		}
		done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-done:
		done <- err
		t.Fatalf("dev.sh exited early (%v)\nstdout:\n%s\nstderr:\n%s", err, out.String(), logs)
	case <-ctx.Done():
		t.Fatalf("dev.sh not ready in time\nstderr:\n%s", logs)
	}
	text := out.String()
	if !strings.Contains(text, "DEMO mode") || !strings.Contains(text, `base_url = "http://`+addr+`/v1"`) ||
		!strings.Contains(text, `env_key = "CODEXGATE_API_KEY"`) || !strings.Contains(text, `wire_api = "responses"`) {
		t.Errorf("banner lacks the DEMO label or the Codex CLI snippet:\n%s", text)
	}
	if !strings.Contains(curl, "http://"+addr+"/v1/responses") || !strings.Contains(curl, "Bearer cgk_") {
		t.Fatalf("printed curl line = %q", curl)
	}

	// The printed line, run as printed.
	answer, err := exec.CommandContext(ctx, "bash", "-c", curl).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, answer)
	}
	if !strings.Contains(string(answer), `"delta":"Hello"`) || !strings.Contains(string(answer), "event: response.completed") {
		t.Fatalf("curl answer is not the streamed demo answer:\n%s", answer)
	}

	// The printed Claude Code setup: three lines, run as printed.
	if len(claudeLines) != 3 || !strings.Contains(claudeLines[0], "ANTHROPIC_BASE_URL=http://"+addr+" ") || !strings.Contains(claudeLines[0], "ANTHROPIC_AUTH_TOKEN=cgk_") {
		t.Fatalf("printed Claude Code setup = %q", claudeLines)
	}
	claudeDir := filepath.Join(root, ".tools", "claude-code", "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(claudeDir, "claude")); err == nil {
		run := exec.CommandContext(ctx, "bash", "-c", strings.Join(claudeLines, "\n"))
		run.Dir = t.TempDir()
		run.Env = []string{"PATH=" + claudeDir + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + os.TempDir(),
			"HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost"}
		answer, err := run.CombinedOutput()
		if err != nil || !strings.Contains(string(answer), "Hello") {
			t.Fatalf("claude, as printed: %v\n%s\nstderr:\n%s", err, answer, logs)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("Claude Code not installed in .tools/claude-code (CI=true): run `make tools`")
	}

	// Ctrl-C: SIGINT to the whole foreground group.
	if err := syscall.Kill(-pgid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("dev.sh exit after SIGINT: %v\nstderr:\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("dev.sh did not stop within 30s of SIGINT\nstderr:\n%s", logs)
	}
	// No orphans: nothing left in the group (server, simulator), port closed.
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes remain in the dev.sh group after SIGINT (kill -0: %v)", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after SIGINT", addr)
	}
}
