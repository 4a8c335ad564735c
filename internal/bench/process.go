package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Proc is a child process this package started; Stop kills it.
type Proc struct {
	cmd *exec.Cmd
	URL string
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stop ends the process (SIGTERM, then SIGKILL after 3 s) and reaps it.
func (p *Proc) Stop() {
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // already gone is fine
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }() //nolint:errcheck // ended by us
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill() //nolint:errcheck // already gone is fine
		<-done
	}
}

// startLine starts bin with args and env, and waits (up to 20 s) for a line
// of its stdout matching re; the first submatch becomes URL. stderr goes to
// logw (nil: discarded).
func startLine(bin string, args, env []string, re *regexp.Regexp, logw io.Writer) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = logw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	p := &Proc{cmd: cmd}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			p.Stop()
			return nil, fmt.Errorf("%s exited before it was ready", filepath.Base(bin))
		}
		p.URL = u
		return p, nil
	case <-time.After(20 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("%s not ready after 20 s", filepath.Base(bin))
	}
}

var (
	simReady   = regexp.MustCompile(`openaisim listening on (http://\S+)`)
	serveReady = regexp.MustCompile(`codexgate serving on (http://\S+)/v1`)
)

// StartSim runs the simulator binary (cmd/openaisim) on a free port.
func StartSim(bin string, args ...string) (*Proc, error) {
	return startLine(bin, append([]string{"--addr", "127.0.0.1:0"}, args...), nil, simReady, nil)
}

// StartServe runs `codexgate serve` on a free port with env added.
func StartServe(bin string, env []string, logw io.Writer) (*Proc, error) {
	return startLine(bin, []string{"serve", "--addr", "127.0.0.1:0"}, env, serveReady, logw)
}

// SimControl drives a simulator process through its /_sim/ control API.
type SimControl struct {
	URL    string
	Client *http.Client
}

func (s SimControl) do(method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		return err
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("sim %s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		if raw, ok := out.(*[]byte); ok {
			*raw = b
			return nil
		}
		return json.Unmarshal(b, out)
	}
	return nil
}

// AddAccount creates an account and returns its auth.json document.
func (s SimControl) AddAccount(id string) ([]byte, error) {
	var b []byte
	err := s.do(http.MethodPost, "/_sim/accounts", map[string]string{"id": id, "name": id}, &b)
	return b, err
}

// Expire invalidates every access token of the account.
func (s SimControl) Expire(id string) error {
	return s.do(http.MethodPost, "/_sim/expire?account="+id, nil, nil)
}

// SimStats is the part of the simulator's stats the benchmarks read.
type SimStats struct {
	Refreshes       int `json:"refreshes"`
	ReuseRejections int `json:"reuse_rejections"`
	RefreshRequests int `json:"refresh_requests"`
	ResponsesOK     int `json:"responses_ok"`
	Unauthorized    int `json:"unauthorized"`
}

// Stats reads the counters.
func (s SimControl) Stats() (SimStats, error) {
	var st SimStats
	err := s.do(http.MethodGet, "/_sim/stats", nil, &st)
	return st, err
}
