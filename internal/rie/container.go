package rie

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Container is one emulator running one bootstrap. Invoke it from one
// goroutine at a time.
type Container struct {
	url   string // invocation URL
	cmd   *exec.Cmd
	start time.Time
	log   logBuffer
	stop  sync.Once
	tap   *Tap // nil unless StartTapped
	clean func()
}

// Start runs bin (the emulator, see Find) with bootstrap on free 127.0.0.1
// ports, with env added to this process's environment, and returns once the
// emulator listens. The emulator gets its own process group, so that Stop
// reaches the bootstrap too, and is killed if this process dies. The
// bootstrap itself starts on the first invocation.
func Start(bin, bootstrap string, env []string) (*Container, error) {
	return start(bin, bootstrap, env, false)
}

// StartTapped is Start with a Tap between the bootstrap and the emulator's
// runtime API (Container.Tap), for callers that time answers.
func StartTapped(bin, bootstrap string, env []string) (*Container, error) {
	return start(bin, bootstrap, env, true)
}

func start(bin, bootstrap string, env []string, tapped bool) (*Container, error) {
	emu, err := freeAddr()
	if err != nil {
		return nil, err
	}
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	c := &Container{url: "http://" + emu + "/2015-03-31/functions/function/invocations", clean: func() {}}
	if tapped {
		if c.tap, err = startTap(api); err != nil {
			return nil, err
		}
		if bootstrap, err = tapWrapper(bootstrap, c.tap.Addr()); err != nil {
			c.tap.close()
			return nil, err
		}
		c.clean = func() { c.tap.close(); os.RemoveAll(filepath.Dir(bootstrap)) } //nolint:errcheck // a temporary script
	}
	c.cmd = exec.Command(bin, "--runtime-interface-emulator-address", emu, "--runtime-api-address", api, bootstrap)
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout, c.cmd.Stderr = &c.log, &c.log
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A straggler holding the output pipe must not block Stop.
	c.cmd.WaitDelay = time.Second
	c.start = time.Now()
	if err := c.cmd.Start(); err != nil {
		c.clean()
		return nil, fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	if err := waitListen(emu, 10*time.Second); err != nil {
		c.Stop()
		return nil, fmt.Errorf("aws-lambda-rie did not listen on %s: %w\n%s", emu, err, c.Log())
	}
	return c, nil
}

// Stop kills the emulator's process group (emulator and bootstrap) and reaps
// the emulator. It may be called more than once.
func (c *Container) Stop() {
	c.stop.Do(func() {
		syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // already gone is fine
		c.cmd.Wait()                                      //nolint:errcheck // killed: the error says so
		c.clean()
	})
}

// Tap is the runtime API tap of a container from StartTapped, else nil.
func (c *Container) Tap() *Tap { return c.tap }

// Pid is the emulator's process id; the bootstrap is its child.
func (c *Container) Pid() int { return c.cmd.Process.Pid }

// InvocationURL is the emulator's invoke endpoint, for callers that read
// a streamed answer as it arrives rather than through Invoke.
func (c *Container) InvocationURL() string { return c.url }

// Started is when the emulator process was started.
func (c *Container) Started() time.Time { return c.start }

// Log returns what the emulator and the bootstrap printed (the first MiB).
func (c *Container) Log() string { return c.log.String() }

// FunctionError is the emulator's answer when the handler returned an error
// or the bootstrap crashed.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Invoke sends one event and returns the function's answer as the emulator
// sends it (for a streamed answer: see SplitStreamed). A function error is
// returned as *FunctionError; ctx bounds the whole invocation.
func (c *Container) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(event))
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return b, fmt.Errorf("invoke: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("invoke: HTTP %d: %.200s", resp.StatusCode, b)
	}
	// A streamed answer (prelude, NULs, body) is not one JSON document, so
	// only a real error document decodes here.
	var fe FunctionError
	if json.Unmarshal(b, &fe) == nil && fe.Message != "" {
		return b, &fe
	}
	return b, nil
}

// initRe matches the emulator's REPORT line after the first invocation.
var initRe = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)

// InitDuration is the Init Duration of the first invocation's REPORT line,
// waiting up to wait for the emulator to print it. This emulator times only
// its own init bookkeeping, not the bootstrap's start.
func (c *Container) InitDuration(wait time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(wait)
	for {
		if m := initRe.FindStringSubmatch(c.Log()); m != nil {
			ms, err := strconv.ParseFloat(m[1], 64)
			return time.Duration(ms * float64(time.Millisecond)), err == nil
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitListen(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logBuffer collects process output from the exec copier goroutines, up to
// 1 MiB.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 1<<20 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
