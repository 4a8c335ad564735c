package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/codexgate/codexgate/internal/rie"
)

// Target is one way to send the benchmark request.
type Target struct {
	Name string
	Do   func(ctx context.Context) error
}

// DirectTarget posts straight to the simulator's backend with the account's
// own access token: the baseline.
func DirectTarget(c *http.Client, sim, access, accountID string) Target {
	return Target{Name: "direct", Do: func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, sim+"/backend-api/codex/responses", bytes.NewReader([]byte(RequestBody)))
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("ChatGPT-Account-Id", accountID)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		return doSSE(c, req)
	}}
}

// ServeTarget posts to `codexgate serve` with a client key.
func ServeTarget(c *http.Client, base, key string) Target {
	return Target{Name: "codexgate serve", Do: func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/responses", bytes.NewReader([]byte(RequestBody)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		return doSSE(c, req)
	}}
}

// ChatTargetName names the Chat Completions front in the report.
const ChatTargetName = "codexgate serve, chat completions"

// ChatTarget posts ChatRequestBody to `codexgate serve`'s Chat Completions
// front and reads the chunks to data: [DONE].
func ChatTarget(c *http.Client, base, key string) Target {
	return Target{Name: ChatTargetName, Do: func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader([]byte(ChatRequestBody)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		return do(c, req, func(b []byte) error {
			if !bytes.HasSuffix(b, []byte("data: [DONE]\n\n")) {
				return fmt.Errorf("chat stream did not finish: %.200s", b)
			}
			return nil
		})
	}}
}

// invokeTimeout bounds one invocation of an RIE container, as the HTTP
// clients' timeout bounds the other targets' requests.
const invokeTimeout = 60 * time.Second

// RIETarget invokes the proxy bootstrap in one RIE container with a REST API
// event.
func RIETarget(c *rie.Container, key string) Target {
	ev := rie.APIGatewayEvent(http.MethodPost, "/v1/responses",
		map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}, RequestBody)
	return Target{Name: "proxy bootstrap (RIE)", Do: func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
		defer cancel()
		b, err := c.Invoke(ctx, ev)
		if err != nil {
			return err
		}
		p, body, err := rie.SplitStreamed(b)
		if err != nil {
			return err
		}
		if p.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d: %.200s", p.StatusCode, body)
		}
		return checkSSE(body)
	}}
}

func doSSE(c *http.Client, req *http.Request) error { return do(c, req, checkSSE) }

// do sends req and checks a 200 answer's whole body with check.
func do(c *http.Client, req *http.Request, check func([]byte) error) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	return check(b)
}

// checkSSE returns nil when body is an SSE stream that completed.
func checkSSE(body []byte) error {
	if !bytes.Contains(body, []byte("response.completed")) {
		return fmt.Errorf("stream did not complete: %.200s", strings.TrimSpace(string(body)))
	}
	return nil
}

// Overhead is the latency sample of each target at one concurrency, plus
// the serve process's CPU over its requests.
type Overhead struct {
	Concurrency int
	Samples     map[string]*Sample
	Order       []string
	CPU         map[string]time.Duration // process CPU spent during that target's requests (ns)
	UserCPU     map[string]time.Duration // the user-space part of CPU (10 ms ticks)
	// RoundCPU is each round's CPU: paired with another process's over the
	// same round, it is less exposed to the machine's drift than the totals.
	RoundCPU map[string][]time.Duration
}

func newOverhead(c int, targets []Target) *Overhead {
	o := &Overhead{Concurrency: c, Samples: map[string]*Sample{}, CPU: map[string]time.Duration{},
		UserCPU: map[string]time.Duration{}, RoundCPU: map[string][]time.Duration{}}
	for _, t := range targets {
		o.Order = append(o.Order, t.Name)
		o.Samples[t.Name] = &Sample{}
	}
	return o
}

// charge adds one round's CPU of the process charged to target name.
func (o *Overhead) charge(name string, used processCPU) {
	o.CPU[name] += used.onCPU
	o.UserCPU[name] += used.ticks.User
	o.RoundCPU[name] = append(o.RoundCPU[name], used.onCPU)
}

// add merges one batch's sample into target name's.
func (o *Overhead) add(name string, s Sample) {
	agg := o.Samples[name]
	agg.Latencies = append(agg.Latencies, s.Latencies...)
	agg.Errors += s.Errors
	agg.Wall += s.Wall
	if agg.FirstErr == nil {
		agg.FirstErr = s.FirstErr
	}
}

func (o *Overhead) done(ctx context.Context) (*Overhead, error) {
	for _, s := range o.Samples {
		sortDurations(s.Latencies)
	}
	return o, ctx.Err()
}

// MeasureOverhead sends n requests per target at concurrency c, in rounds
// (every target gets n/rounds per round, in turn) so that drift of the
// machine hits all targets alike; every other round sends them in reverse
// order, so that no target always follows the same one. cpuPid maps a
// target name to the process whose CPU time is charged to it.
func MeasureOverhead(ctx context.Context, c, n, rounds int, targets []Target, cpuPid map[string]int) (*Overhead, error) {
	o := newOverhead(c, targets)
	per := max(n/rounds, 1)
	for round := range rounds {
		for i := range targets {
			t := targets[i]
			if round%2 == 1 {
				t = targets[len(targets)-1-i]
			}
			pid, charge := cpuPid[t.Name]
			var before processCPU
			if charge {
				before = readProcessCPU(pid)
			}
			s := Run(ctx, c, per, t.Do)
			if charge {
				o.charge(t.Name, readProcessCPU(pid).since(before))
			}
			o.add(t.Name, s)
		}
	}
	return o.done(ctx)
}

// MeasureMixed is MeasureOverhead with the targets' requests interleaved
// one by one within each round (RunMixed) instead of batch after batch, and
// each charged process's CPU read over the whole round: every target is
// timed under the same load, and the processes' CPU over the same seconds.
func MeasureMixed(ctx context.Context, c, n, rounds int, targets []Target, cpuPid map[string]int) (*Overhead, error) {
	o := newOverhead(c, targets)
	per := max(n/rounds, 1)
	for range rounds {
		before := map[string]processCPU{}
		for name, pid := range cpuPid {
			before[name] = readProcessCPU(pid)
		}
		samples := RunMixed(ctx, c, per, targets)
		for name, pid := range cpuPid {
			o.charge(name, readProcessCPU(pid).since(before[name]))
		}
		for i, s := range samples {
			o.add(targets[i].Name, s)
		}
	}
	return o.done(ctx)
}

// processCPU is a process's CPU so far, read two ways: on-CPU nanoseconds
// (schedstat, the total the reports use) and utime/stime ticks (stat, whose
// 10 ms resolution only the user/kernel split has to live with).
type processCPU struct {
	onCPU time.Duration
	ticks CPU
}

func readProcessCPU(pid int) processCPU {
	on, _ := OnCPUTime(pid)
	ticks, _ := ReadCPU(pid)
	return processCPU{onCPU: on, ticks: ticks}
}

func (p processCPU) since(before processCPU) processCPU {
	return processCPU{onCPU: p.onCPU - before.onCPU, ticks: CPU{User: p.ticks.User - before.ticks.User, System: p.ticks.System - before.ticks.System}}
}
