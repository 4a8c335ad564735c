//go:build linux

package lambdae2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// findRIE returns the emulator's path, or skips (fails under CI=true).
func findRIE(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	if out, err := exec.Command(goTool(), "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "aws-lambda-rie")
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p
			}
		}
	}
	const msg = "aws-lambda-rie not found on PATH or in $(go env GOPATH)/bin: run `make tools`"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing emulator is a failure)")
	}
	t.Skip(msg)
	return ""
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

var (
	buildMu sync.Mutex
	built   = map[string]string{} // function → bootstrap path
	buildTo string
)

// bootstrap builds functions/<name> once per test binary, as `make build`
// does but for the host architecture.
func bootstrap(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if buildTo == "" {
		dir, err := os.MkdirTemp("", "codexgate-lambdae2e-")
		if err != nil {
			t.Fatal(err)
		}
		buildTo = dir // removed by TestMain
	}
	out := filepath.Join(buildTo, name, "bootstrap")
	cmd := exec.Command(goTool(), "build", "-tags", "lambda.norpc", "-o", out, "./functions/"+name)
	cmd.Dir = testsupport.RepoRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

// rie is one emulator running one bootstrap: one Lambda container.
type rie struct {
	url string
	cmd *exec.Cmd
	log *syncBuffer
}

// startRIE runs bootstrap under the emulator with env added to this
// process's environment; t.Cleanup kills the emulator and the bootstrap.
func startRIE(t *testing.T, bin, bootstrap string, env ...string) *rie {
	t.Helper()
	api, emu := freePort(t), freePort(t)
	r := &rie{url: "http://" + emu + "/2015-03-31/functions/function/invocations", log: &syncBuffer{}}
	r.cmd = exec.Command(bin, "--runtime-interface-emulator-address", emu, "--runtime-api-address", api, bootstrap)
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	// Own process group, so that cleanup reaches the bootstrap too; and die
	// with the test binary if it is killed.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start aws-lambda-rie: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL) // the group: emulator and bootstrap
		_ = r.cmd.Wait()                                      // killed: the error says so
		if t.Failed() {
			t.Logf("emulator and bootstrap output:\n%s", r.log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", emu, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("aws-lambda-rie did not listen on %s: %v\n%s", emu, err, r.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invoke sends one event and returns the function's answer. A function
// error (the emulator answers {"errorMessage","errorType"}) fails the test.
func (r *rie) invoke(t *testing.T, event []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"errorMessage"`)) {
		t.Fatalf("invoke: HTTP %d, %v: %s", resp.StatusCode, err, body)
	}
	return body
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects process output written from the exec copier goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildTo != "" {
		if err := os.RemoveAll(buildTo); err != nil {
			fmt.Fprintln(os.Stderr, "remove built bootstraps:", err)
		}
	}
	os.Exit(code)
}

// logged reports whether the emulator or the bootstrap printed s.
func (r *rie) logged(s string) bool { return strings.Contains(r.log.String(), s) }
