package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// outcome is one client request through a container.
type outcome struct {
	Start, End time.Time
	Status     int    // 0 when no HTTP answer came
	OK         bool   // 200 and a complete stream
	Why        string // when not OK: status and error code, or the transport error
}

// outcomes collects a container's requests; safe for concurrent use.
type outcomes struct {
	mu   sync.Mutex
	list []outcome
}

func (o *outcomes) add(x outcome) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.list = append(o.list, x)
}

// snapshot returns the requests so far, by start time.
func (o *outcomes) snapshot() []outcome {
	o.mu.Lock()
	out := slices.Clone(o.list)
	o.mu.Unlock()
	slices.SortFunc(out, func(a, b outcome) int { return a.Start.Compare(b.Start) })
	return out
}

// recovery is how one container's requests fared after the faults ended.
type recovery struct {
	After, Served int // requests started since the end, and those served
	// FirstOK is from the end to the first success since (by when it
	// answered); -1 when none.
	FirstOK time.Duration
	// AllGreen is from the end to the answer of the first request of the
	// run of successes that lasts to the last request (every request
	// started from then on was served); -1 when the last request failed or
	// none was made. GreenFor is how long that run lasts (first to last
	// request start): a run of one request proves little.
	AllGreen, GreenFor time.Duration
	// Failures are the last few failures since the end, latest last.
	Failures []string
}

// recoveryOf measures list (by start time) against the end of the faults.
// Requests started before the end are not counted: they met the faults.
func recoveryOf(list []outcome, ended time.Time) recovery {
	r := recovery{FirstOK: -1, AllGreen: -1}
	var since []outcome
	for _, o := range list {
		if !o.Start.Before(ended) {
			since = append(since, o)
		}
	}
	r.After = len(since)
	green := len(since) // index of the first request of the final run of successes
	for i := len(since) - 1; i >= 0 && since[i].OK; i-- {
		green = i
	}
	for _, o := range since {
		if !o.OK {
			r.Failures = append(r.Failures, fmt.Sprintf("+%s %s", o.Start.Sub(ended).Round(100*time.Millisecond), o.Why))
			continue
		}
		r.Served++
		if d := o.End.Sub(ended); r.FirstOK < 0 || d < r.FirstOK {
			r.FirstOK = d
		}
	}
	if len(r.Failures) > 5 {
		r.Failures = r.Failures[len(r.Failures)-5:]
	}
	if green < len(since) {
		r.AllGreen = since[green].End.Sub(ended)
		r.GreenFor = since[len(since)-1].Start.Sub(since[green].Start)
	}
	return r
}

// failuresBefore returns the last n failures of requests started before t
// (what the faults did), latest last.
func failuresBefore(list []outcome, t time.Time, n int) []string {
	var out []string
	for _, o := range list {
		if !o.OK && o.Start.Before(t) {
			out = append(out, fmt.Sprintf("%s %s", o.Start.Format("15:04:05.0"), o.Why))
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// ms formats a measured duration for the figures (-1: never).
func ms(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(100 * time.Millisecond).String()
}

// errorCode is an OpenAI-shaped error body's code and message, or a short
// prefix of any other body.
func errorCode(body []byte) string {
	var e struct {
		Error struct{ Code, Message string }
	}
	if i := bytes.Index(body, []byte("data: {\"type\":\"error\"")); i >= 0 { // an error event in a stream
		body = bytes.TrimPrefix(body[i:], []byte("data: "))
		if j := bytes.IndexByte(body, '\n'); j >= 0 {
			body = body[:j]
		}
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		return redact(e.Error.Code + ": " + e.Error.Message)
	}
	if len(body) > 120 {
		body = body[:120]
	}
	return redact(string(body))
}

// secretish matches what must never reach a test log: JWTs (access and ID
// tokens), refresh tokens, codexgate client keys.
var secretish = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_.-]+|rt_[A-Za-z0-9_-]+|cgk_[A-Za-z0-9_-]+`)

// redact removes anything token-shaped from s. The product never logs
// tokens; this guards the diagnosis against a regression doing so.
func redact(s string) string { return secretish.ReplaceAllString(s, "[redacted]") }

// logRing keeps a container's last notable log lines (JSON, one per
// Write): everything but the per-request lines, whose story the outcomes
// tell; what remains is failovers, cooldowns, refreshes and adoptions.
type logRing struct {
	mu    sync.Mutex
	lines []string
	max   int
}

func newLogRing(max int) *logRing { return &logRing{max: max} }

func (l *logRing) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	if strings.Contains(line, `"msg":"request"`) {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
	if len(l.lines) > l.max {
		l.lines = l.lines[len(l.lines)-l.max:]
	}
	return len(p), nil
}

// notable returns the last n lines, redacted and cut.
func (l *logRing) notable(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.lines[max(len(l.lines)-n, 0):])
	for i, line := range out {
		line = redact(line)
		if len(line) > 400 {
			line = line[:400] + "…"
		}
		out[i] = line
	}
	return out
}
