//go:build linux

package lambdae2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/rie"
	"github.com/codexgate/codexgate/internal/testsupport"
)

// findRIE returns the emulator's path, or skips (fails under CI=true).
func findRIE(t *testing.T) string {
	t.Helper()
	bin, err := rie.Find()
	switch {
	case err == nil:
		return bin
	case errors.Is(err, rie.ErrNotFound) && os.Getenv("CI") != "true":
		t.Skip(err)
	}
	t.Fatalf("%v (CI=true: a missing emulator is a failure)", err)
	return ""
}

var (
	buildMu sync.Mutex
	built   = map[string]string{} // function → bootstrap path
	buildTo string                // removed by TestMain
)

// bootstrap builds functions/<name> once per test binary, as `make build`
// does (CGO_ENABLED=0, -tags lambda.norpc) but for the host architecture,
// so that the emulator can exec it.
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
		buildTo = dir
	}
	out := filepath.Join(buildTo, name, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./functions/"+name)
	cmd.Dir = testsupport.RepoRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, b)
	}
	built[name] = out
	return out
}

// lambda is one container under test; it is stopped when the test ends,
// and its output logged if the test failed.
type lambda struct {
	t *testing.T
	*rie.Container
}

func startLambda(t *testing.T, bin, boot string, env []string) lambda {
	t.Helper()
	c, err := rie.Start(bin, boot, env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("emulator and bootstrap output:\n%s", c.Log())
		}
	})
	return lambda{t, c}
}

// invoke sends one event and returns the answer; any error fails the test.
func (l lambda) invoke(event []byte) []byte {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b, err := l.Invoke(ctx, event)
	if err != nil {
		l.t.Fatalf("%v: %.500s", err, b)
	}
	return b
}

// logged reports whether the emulator or the bootstrap printed s.
func (l lambda) logged(s string) bool { return strings.Contains(l.Log(), s) }

func TestMain(m *testing.M) {
	code := m.Run()
	if buildTo != "" {
		if err := os.RemoveAll(buildTo); err != nil {
			fmt.Fprintln(os.Stderr, "remove built bootstraps:", err)
		}
	}
	os.Exit(code)
}
