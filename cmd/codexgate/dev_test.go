package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
)

// devRun is one `make dev` (scripts/dev.sh) started as a user would, in a
// process group of its own (a terminal's foreground group).
type devRun struct {
	t      *testing.T
	addr   string
	pgid   int
	logs   *testsupport.Buffer
	out    strings.Builder
	curl   string
	claude []string // the printed Claude Code setup
	done   chan error
}

// startDev runs dev.sh with the test's Go caches and set on top of the
// environment, and waits for its banner.
func startDev(t *testing.T, set map[string]string) *devRun {
	cfg := testsupport.AWSConfig(t)
	root := testsupport.RepoRoot(t)
	home := t.TempDir()
	d := &devRun{t: t, addr: fmt.Sprintf("127.0.0.1:%d", testsupport.FreePort(t)), logs: &testsupport.Buffer{}, done: make(chan error, 1)}
	// HOME moves Go's caches too: keep the test's, or dev.sh rebuilds the world.
	goEnv, err := exec.Command("go", "env", "GOPATH", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	gp := strings.Split(strings.TrimSpace(string(goEnv)), "\n")
	if len(gp) != 3 {
		t.Fatalf("go env: %q", goEnv)
	}
	vars := map[string]string{
		"GOPATH":                  gp[0],
		"GOMODCACHE":              gp[1],
		"GOCACHE":                 gp[2],
		"CODEX_HOME":              "",
		"CODEXGATE_TABLE":         testsupport.NewTable(t, cfg),
		"CODEXGATE_SECRET_PREFIX": testsupport.SecretPrefix(t),
		"CODEXGATE_DEV_ADDR":      d.addr,
		"CODEXGATE_DEV_BUILD_DIR": filepath.Join(home, "build"),
		"HOME":                    home,
	}
	for k, v := range set {
		vars[k] = v
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "dev.sh"))
	cmd.Dir = root
	cmd.Env = cliEnv(vars)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = d.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.pgid = cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-d.pgid, syscall.SIGKILL)
		<-d.done
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			d.out.WriteString(line + "\n")
			if strings.HasPrefix(line, "curl ") {
				d.curl = line
			}
			if strings.HasPrefix(line, "export ANTHROPIC_") || strings.HasPrefix(line, "export DISABLE_TELEMETRY") || strings.HasPrefix(line, "claude ") {
				d.claude = append(d.claude, line)
			}
			if strings.HasPrefix(line, "Press Ctrl-C") && !signalled {
				signalled = true
				close(ready)
			}
		}
		d.done <- cmd.Wait()
	}()
	select {
	case <-ready:
	case err := <-d.done:
		d.done <- err
		t.Fatalf("dev.sh exited early (%v)\nstdout:\n%s\nstderr:\n%s", err, d.out.String(), d.logs)
	case <-time.After(4 * time.Minute):
		t.Fatalf("dev.sh not ready in time\nstderr:\n%s", d.logs)
	}
	return d
}

// interrupt sends Ctrl-C to the whole group and checks that dev.sh stops
// cleanly and leaves nothing behind.
func (d *devRun) interrupt() {
	t := d.t
	if err := syscall.Kill(-d.pgid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-d.done:
		d.done <- err
		if err != nil {
			t.Errorf("dev.sh exit after SIGINT: %v\nstderr:\n%s", err, d.logs)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("dev.sh did not stop within 60s of SIGINT\nstderr:\n%s", d.logs)
	}
	// No orphans: nothing left in the group (server, simulator), port closed.
	if err := syscall.Kill(-d.pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("processes remain in the dev.sh group after SIGINT (kill -0: %v)", err)
	}
	if c, err := net.DialTimeout("tcp", d.addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after SIGINT", d.addr)
	}
}

// TestDevScript_Demo runs `make dev`'s script as a user on a machine without
// ~/.codex/auth.json would: it must come up in a labelled DEMO mode, print a
// curl line that answers, and leave no process behind after Ctrl-C.
func TestDevScript_Demo(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	d := startDev(t, nil) // no ~/.codex/auth.json: demo mode
	addr := d.addr
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	text, curl, claudeLines, logs := d.out.String(), d.curl, d.claude, d.logs
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
	if claude := pinnedBin(t, "claude-code", "claude"); claude != "" {
		run := exec.CommandContext(ctx, "bash", "-c", strings.Join(claudeLines, "\n"))
		run.Dir = t.TempDir()
		run.Env = []string{"PATH=" + filepath.Dir(claude) + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + os.TempDir(),
			"HTTPS_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost"}
		answer, err := run.CombinedOutput()
		if err != nil || !strings.Contains(string(answer), "Hello") {
			t.Fatalf("claude, as printed: %v\n%s\nstderr:\n%s", err, answer, logs)
		}
	} else if os.Getenv("CI") == "true" {
		t.Fatal("Claude Code not installed in .tools/claude-code (CI=true): run `make tools`")
	}

	d.interrupt()
}

// TestDevScript_Real: with a Codex auth.json present, `make dev` serves that
// login (here against the simulator standing in for OpenAI). When the login
// is rotated during the session, Ctrl-C writes it back to the auth.json: the
// local stack forgets everything, and the file's old refresh token is spent.
func TestDevScript_Real(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	sim := openaisim.New(openaisim.Options{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	codexHome := t.TempDir()
	authFile := filepath.Join(codexHome, "auth.json")
	tok := sim.AddAccount(openaisim.Account{Name: "rae"})
	if err := os.WriteFile(authFile, sim.AuthJSON(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDev(t, map[string]string{
		"CODEX_HOME":             codexHome,
		"CODEXGATE_UPSTREAM_URL": srv.URL + "/backend-api/codex",
		"CODEXGATE_TOKEN_URL":    srv.URL + "/oauth/token",
		"CODEXGATE_USAGE_URL":    srv.URL + "/backend-api/wham/usage",
	})
	if !strings.Contains(d.out.String(), "REAL mode") {
		t.Fatalf("banner is not REAL mode:\n%s", d.out.String())
	}
	// The upstream rejects the access token: the proxy refreshes (rotating
	// the refresh token) and replays.
	if err := sim.ExpireAccessTokens(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	answer, err := exec.Command("bash", "-c", d.curl).CombinedOutput()
	if err != nil || !strings.Contains(string(answer), "event: response.completed") {
		t.Fatalf("curl: %v\n%s\nstderr:\n%s", err, answer, d.logs)
	}
	if st := sim.Stats(); st.Refreshes != 1 {
		t.Fatalf("refreshes %d, want 1", st.Refreshes)
	}
	d.interrupt()

	data, err := os.ReadFile(authFile)
	if err != nil {
		t.Fatal(err)
	}
	a, err := codex.ParseAuthFile("rae", data)
	if err != nil || a.Token.Refresh == tok.RefreshToken {
		t.Fatalf("auth.json still holds the spent refresh token (err %v)\nstderr:\n%s", err, d.logs)
	}
	if _, err := os.Stat(authFile + ".bak"); err != nil {
		t.Errorf("no auth.json.bak: %v", err)
	}
	// And it is the live one: OpenAI takes it without a reuse.
	if _, err := (&codex.OAuthClient{TokenURL: srv.URL + "/oauth/token"}).Refresh(context.Background(), a.Token.Refresh); err != nil {
		t.Fatalf("written-back login does not refresh: %v", err)
	}
	if st := sim.Stats(); st.ReuseRejections != 0 {
		t.Fatalf("reuse %d", st.ReuseRejections)
	}
}
