package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/codexgate/codexgate/internal/rie"
)

// ShareSizes are the Lambda memory sizes the CPU-share section measures.
var ShareSizes = []int{128, 256, 512, 1024}

// ShareWords is the length, in words, of the simulator's answer in the
// CPU-share section: one output_text.delta event per word, so a turn is a
// stream of more than 200 SSE events.
const ShareWords = 240

// ShareAnswer is the long answer text (ShareWords words).
func ShareAnswer() string {
	w := make([]string, ShareWords)
	for i := range w {
		w[i] = fmt.Sprintf("word%d", i)
	}
	return strings.Join(w, " ")
}

// ShareSize is what the proxy bootstrap does under the CPU share of one
// Lambda memory size.
type ShareSize struct {
	MemoryMB      int
	Quota, Period time.Duration
	// Cold start: the overhead (first minus second invocation of GET
	// /v1/models, the event of the cold-start section) of each fresh
	// container, sorted.
	Colds    []time.Duration
	ColdRuns int
	// Warm long turns through the RIE and, interleaved, straight to the
	// simulator: time to the first body byte and to the last. Through the
	// RIE both are read on the runtime API (rie.Tap), where Lambda sees the
	// answer: the emulator itself sends a streamed answer only once it is
	// whole. End is when the bootstrap ended the invocation (after the
	// usage write and any refresh it waits for): what Lambda bills.
	FirstByte, Whole, End        *Sample
	DirectFirstByte, DirectWhole *Sample
	Events                       int           // SSE events in one turn's answer
	CPU                          time.Duration // bootstrap CPU over Turns warm turns
	Turns                        int
	PeakRSSKB                    int64 // bootstrap VmHWM at the end
	Throttle                     Throttling
	Err                          error
}

// Cold is the median cold-start overhead.
func (s ShareSize) Cold() time.Duration {
	if len(s.Colds) == 0 {
		return 0
	}
	return s.Colds[len(s.Colds)/2]
}

// ColdSlowest is the slowest cold start measured. Under a small CPU share a
// cold start needs a few of the quota's periods, and where the first one
// begins moves it by up to a period: the budget must hold for the slowest,
// or the recommendation follows the luck of one run.
func (s ShareSize) ColdSlowest() time.Duration {
	if len(s.Colds) == 0 {
		return 0
	}
	return s.Colds[len(s.Colds)-1]
}

// AddedFirstByte is the median added latency to the first body byte.
func (s ShareSize) AddedFirstByte() time.Duration {
	return s.FirstByte.Percentile(50) - s.DirectFirstByte.Percentile(50)
}

// AddedWhole is the median added latency to the end of the stream.
func (s ShareSize) AddedWhole() time.Duration {
	return s.Whole.Percentile(50) - s.DirectWhole.Percentile(50)
}

// AddedEnd is the median time from the end of the direct stream to the end
// of the invocation: the billed duration beyond the turn itself.
func (s ShareSize) AddedEnd() time.Duration {
	return s.End.Percentile(50) - s.DirectWhole.Percentile(50)
}

// CPUPerTurn is the bootstrap's CPU time per warm turn.
func (s ShareSize) CPUPerTurn() time.Duration {
	if s.Turns == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Turns)
}

// CPUShare is the whole CPU-share section.
type CPUShare struct {
	Skipped string // why it did not run (no writable cgroup v1 cpu controller)
	Sizes   []ShareSize
	Err     error
	Floor   *LongFloor // serve and the floor on the same long stream, whole cores
	// CABundle is the AWS_CA_BUNDLE the bootstraps inherited from this
	// machine ("" when unset): the SDK parses that file at every cold start.
	CABundle string
}

// ShareOptions configure MeasureCPUShare.
type ShareOptions struct {
	RIE, Bootstrap string // aws-lambda-rie and the host proxy bootstrap
	Env            []string
	Key            string // client key of the tenant Env names
	SimURL         string // the simulator (answering ShareAnswer)
	Access, Acct   string // the account's own token, for the direct baseline
	Sizes          []int
	Period         time.Duration
	ColdRuns       int
	Turns          int
}

// MeasureCPUShare runs the proxy bootstrap under the RIE with the CPU share
// of each memory size (a cgroup v1 CFS quota) and measures cold start,
// added latency to the first byte and to the whole of a long stream, CPU per
// turn and peak RSS. Every group is removed before it returns.
func MeasureCPUShare(ctx context.Context, o ShareOptions) *CPUShare {
	out := &CPUShare{CABundle: os.Getenv("AWS_CA_BUNDLE")}
	if why := CgroupCPUUsable(); why != "" {
		out.Skipped = why
		return out
	}
	RemoveStaleCPUGroups()
	tmp, err := os.MkdirTemp("", "codexgate-share")
	if err != nil {
		out.Err = err
		return out
	}
	defer os.RemoveAll(tmp)
	for _, mb := range o.Sizes {
		s := measureShareSize(ctx, o, tmp, mb)
		out.Sizes = append(out.Sizes, s)
		if ctx.Err() != nil {
			break
		}
	}
	return out
}

func measureShareSize(ctx context.Context, o ShareOptions, tmp string, mb int) (s ShareSize) {
	s = ShareSize{MemoryMB: mb, Period: o.Period, Quota: QuotaFor(mb, o.Period), ColdRuns: o.ColdRuns, Turns: o.Turns}
	g, err := NewCPUGroup(fmt.Sprintf("%dmb", mb), s.Quota, s.Period)
	if err != nil {
		s.Err = err
		return s
	}
	defer func() {
		if err := g.Remove(); err != nil && s.Err == nil {
			s.Err = err
		}
	}()
	boot, err := g.WrapInGroup(tmp, o.Bootstrap)
	if err != nil {
		s.Err = err
		return s
	}
	// Lambda tells the function its size; the bootstrap fits GOMAXPROCS
	// to it (lambdacpu), as it does in AWS.
	env := append(slices.Clone(o.Env), "AWS_LAMBDA_FUNCTION_TIMEOUT=120", fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", mb))
	models := rie.APIGatewayEvent(http.MethodGet, "/v1/models", map[string]string{"Authorization": "Bearer " + o.Key}, "")
	var last *rie.Container
	defer func() {
		if last != nil {
			last.Stop()
		}
	}()
	for i := range o.ColdRuns {
		c, err := rie.StartTapped(o.RIE, boot, env)
		if err != nil {
			s.Err = err
			return s
		}
		_, first, err := timedInvoke(ctx, c, models)
		if err == nil {
			_, warm, werr := timedInvoke(ctx, c, models)
			err = werr
			s.Colds = append(s.Colds, first-warm)
		}
		if err != nil {
			s.Err = fmt.Errorf("cold start: %w\n%.1000s", err, c.Log())
			c.Stop()
			return s
		}
		if i < o.ColdRuns-1 {
			c.Stop()
		} else {
			last = c
		}
	}
	slices.Sort(s.Colds)

	kids := Children(last.Pid())
	if len(kids) == 0 {
		s.Err = fmt.Errorf("no bootstrap process under the RIE")
		return s
	}
	if !slices.Contains(g.Pids(), kids[0]) {
		s.Err = fmt.Errorf("bootstrap %d is not in %s", kids[0], g.Dir)
		return s
	}
	hc := client()
	turn := rie.APIGatewayEvent(http.MethodPost, "/v1/responses",
		map[string]string{"Authorization": "Bearer " + o.Key, "Content-Type": "application/json"}, RequestBody)
	// viaRIE times one turn on the runtime API: first byte, last byte and
	// end of the invocation, from the moment the event was sent.
	viaRIE := func() (first, whole, end time.Duration, events int, err error) {
		sent := time.Now()
		if _, _, events, err = streamTimes(ctx, hc, last.InvocationURL(), turn, nil, true); err != nil {
			return 0, 0, 0, 0, err
		}
		a := last.Tap().Last()
		if a.FirstByte.Before(sent) || a.End.Before(a.LastByte) {
			return 0, 0, 0, 0, fmt.Errorf("runtime API tap: no answer to this turn (%+v)", a)
		}
		return a.FirstByte.Sub(sent), a.LastByte.Sub(sent), a.End.Sub(sent), events, nil
	}
	direct := func() (time.Duration, time.Duration, int, error) {
		return streamTimes(ctx, hc, o.SimURL+"/backend-api/codex/responses", []byte(RequestBody), map[string]string{
			"Authorization": "Bearer " + o.Access, "ChatGPT-Account-Id": o.Acct,
			"Content-Type": "application/json", "Accept": "text/event-stream"}, false)
	}
	for range 2 { // warm-up: connections, the token cache
		if _, _, _, _, err := viaRIE(); err != nil {
			s.Err = fmt.Errorf("warm-up: %w", err)
			return s
		}
		if _, _, _, err := direct(); err != nil {
			s.Err = fmt.Errorf("warm-up direct: %w", err)
			return s
		}
	}
	s.FirstByte, s.Whole, s.End, s.DirectFirstByte, s.DirectWhole = &Sample{}, &Sample{}, &Sample{}, &Sample{}, &Sample{}
	before, _ := OnCPUTime(kids[0])
	th0, _ := g.Stat()
	for range o.Turns {
		fb, whole, end, events, err := viaRIE()
		if err != nil {
			s.Err = err
			return s
		}
		s.Events = events
		s.FirstByte.Latencies = append(s.FirstByte.Latencies, fb)
		s.Whole.Latencies = append(s.Whole.Latencies, whole)
		s.End.Latencies = append(s.End.Latencies, end)
		fb, whole, _, err = direct()
		if err != nil {
			s.Err = fmt.Errorf("direct: %w", err)
			return s
		}
		s.DirectFirstByte.Latencies = append(s.DirectFirstByte.Latencies, fb)
		s.DirectWhole.Latencies = append(s.DirectWhole.Latencies, whole)
	}
	after, _ := OnCPUTime(kids[0])
	th1, _ := g.Stat()
	s.CPU = after - before
	s.Throttle = Throttling{Periods: th1.Periods - th0.Periods, Throttled: th1.Throttled - th0.Throttled, ThrottledTime: th1.ThrottledTime - th0.ThrottledTime}
	for _, smp := range []*Sample{s.FirstByte, s.Whole, s.End, s.DirectFirstByte, s.DirectWhole} {
		sortDurations(smp.Latencies)
	}
	if m, err := ReadMemory(kids[0]); err == nil {
		s.PeakRSSKB = m.PeakKB
	}
	return s
}

// lambdaStreamSep ends the RIE's JSON prelude of a streamed answer.
var lambdaStreamSep = bytes.Repeat([]byte{0}, 8)

// streamTimes posts body to url and reads the answer as it arrives: the
// time to the first byte of the SSE body (for an RIE answer: the first byte
// after the prelude) and to its end, and the number of SSE events. The
// stream must reach response.completed.
func streamTimes(ctx context.Context, c *http.Client, url string, body []byte, hdr map[string]string, lambda bool) (first, whole time.Duration, events int, err error) {
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, 0, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	chunk := make([]byte, 32<<10)
	bodyAt := -1 // offset of the SSE body in buf
	if !lambda {
		bodyAt = 0
	}
	for {
		n, rerr := resp.Body.Read(chunk)
		buf.Write(chunk[:n])
		if bodyAt < 0 {
			if i := bytes.Index(buf.Bytes(), lambdaStreamSep); i >= 0 {
				bodyAt = i + len(lambdaStreamSep)
			}
		}
		if first == 0 && bodyAt >= 0 && buf.Len() > bodyAt {
			first = time.Since(t0)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, 0, rerr
		}
	}
	whole = time.Since(t0)
	if resp.StatusCode != http.StatusOK || bodyAt < 0 {
		return 0, 0, 0, fmt.Errorf("status %d: %.300s", resp.StatusCode, buf.Bytes())
	}
	sse := buf.Bytes()[bodyAt:]
	if lambda {
		p, b, err := rie.SplitStreamed(buf.Bytes())
		if err != nil {
			return 0, 0, 0, err
		}
		if p.StatusCode != http.StatusOK {
			return 0, 0, 0, fmt.Errorf("status %d: %.300s", p.StatusCode, b)
		}
	}
	if err := checkSSE(sse); err != nil {
		return 0, 0, 0, err
	}
	return first, whole, bytes.Count(sse, []byte("\n\n")), nil
}
