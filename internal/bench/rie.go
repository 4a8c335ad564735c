package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RIE is one Lambda Runtime Interface Emulator running one bootstrap: one
// Lambda container. It serves one invocation at a time.
type RIE struct {
	URL   string // invocation URL
	cmd   *exec.Cmd
	start time.Time

	mu     sync.Mutex
	log    bytes.Buffer
	initMS float64 // "Init Duration" of the first REPORT line; -1 until seen
}

var initRe = regexp.MustCompile(`Init Duration: ([0-9.]+) ms`)

// StartRIE starts aws-lambda-rie (from PATH) with bootstrap on free
// loopback ports, with env added to this process's environment.
func StartRIE(bootstrap string, env []string) (*RIE, error) {
	bin, err := exec.LookPath("aws-lambda-rie")
	if err != nil {
		return nil, fmt.Errorf("aws-lambda-rie not found (run `make tools`): %w", err)
	}
	p1, err := FreePort()
	if err != nil {
		return nil, err
	}
	p2, err := FreePort()
	if err != nil {
		return nil, err
	}
	r := &RIE{URL: fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", p1), initMS: -1}
	r.cmd = exec.Command(bin,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", p1),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", p2),
		bootstrap)
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	r.cmd.Stderr = r.cmd.Stdout
	r.start = time.Now()
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start RIE: %w", err)
	}
	go r.scan(out)
	if err := waitPort(fmt.Sprintf("127.0.0.1:%d", p1), 10*time.Second); err != nil {
		r.Stop()
		return nil, fmt.Errorf("RIE did not listen: %w\n%s", err, r.Log())
	}
	return r, nil
}

func (r *RIE) scan(out io.Reader) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		r.mu.Lock()
		if r.log.Len() < 1<<20 {
			r.log.WriteString(line + "\n")
		}
		if m := initRe.FindStringSubmatch(line); m != nil && r.initMS < 0 {
			r.initMS, _ = strconv.ParseFloat(m[1], 64)
		}
		r.mu.Unlock()
	}
}

// Started is when the RIE process was started.
func (r *RIE) Started() time.Time { return r.start }

// InitDuration is the RIE's reported Init Duration of the first invocation
// (the bootstrap's init phase), once its REPORT line was printed.
func (r *RIE) InitDuration(wait time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(wait)
	for {
		r.mu.Lock()
		ms := r.initMS
		r.mu.Unlock()
		if ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log returns what the RIE and the bootstrap printed (first MB).
func (r *RIE) Log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// Pid is the RIE's process id; the bootstrap is its child.
func (r *RIE) Pid() int { return r.cmd.Process.Pid }

// Stop kills the RIE and its bootstrap.
func (r *RIE) Stop() {
	for _, c := range Children(r.cmd.Process.Pid) {
		syscall.Kill(c, syscall.SIGKILL) //nolint:errcheck // already gone is fine
	}
	r.cmd.Process.Kill() //nolint:errcheck // already gone is fine
	r.cmd.Wait()         //nolint:errcheck // killed
}

// Invoke sends one event and returns the raw answer body.
func (r *RIE) Invoke(ctx context.Context, client *http.Client, event []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return b, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("invoke: HTTP %d: %.200s", resp.StatusCode, b)
	}
	return b, nil
}

// StreamPrelude is the JSON head of a streamed API Gateway answer.
type StreamPrelude struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
}

// SplitStreamed splits a streamed Lambda answer into its prelude and body
// (prelude JSON, eight NUL bytes, body).
func SplitStreamed(b []byte) (StreamPrelude, []byte, error) {
	var p StreamPrelude
	i := bytes.Index(b, make([]byte, 8))
	if i < 0 {
		return p, nil, errors.New("streamed answer: no prelude separator")
	}
	if err := json.Unmarshal(b[:i], &p); err != nil {
		return p, nil, fmt.Errorf("streamed answer: prelude: %w", err)
	}
	return p, b[i+8:], nil
}

// APIGatewayEvent builds a REST API proxy event as API Gateway sends it.
func APIGatewayEvent(method, path string, headers map[string]string, body string) []byte {
	mv := map[string][]string{}
	for k, v := range headers {
		mv[k] = []string{v}
	}
	ev := map[string]any{
		"resource": "/{proxy+}", "path": path, "httpMethod": method,
		"headers": headers, "multiValueHeaders": mv,
		"requestContext": map[string]any{
			"stage": "prod", "requestId": "bench", "httpMethod": method, "path": "/prod" + path,
			"identity": map[string]any{"sourceIp": "127.0.0.1"}, "domainName": "bench.execute-api.local",
		},
		"body": body, "isBase64Encoded": false,
	}
	b, _ := json.Marshal(ev)
	return b
}

// checkSSE returns nil when body is an SSE stream that completed.
func checkSSE(body []byte) error {
	if !bytes.Contains(body, []byte("response.completed")) {
		return fmt.Errorf("stream did not complete: %.200s", strings.TrimSpace(string(body)))
	}
	return nil
}
