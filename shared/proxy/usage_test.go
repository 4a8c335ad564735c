package proxy

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/metering"
)

// usageLog is a metering.Recorder that keeps what it was given: the "table".
type usageLog struct {
	flush func(context.Context) error // the proxy's Wait, set by the harness

	mu   sync.Mutex
	recs []metering.Record
}

func (l *usageLog) RecordUsage(_ context.Context, u metering.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, u)
	return nil
}

func (l *usageLog) records() []metering.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]metering.Record(nil), l.recs...)
}

// waitRecords flushes the proxy's pending usage until the records in sum
// n requests (a request is counted when its handler returns, which a
// client reading a JSON answer can see before), and returns them.
func (l *usageLog) waitRecords(t *testing.T, n int64) []metering.Record {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if l.flush != nil {
			if err := l.flush(context.Background()); err != nil {
				t.Fatalf("flush usage: %v", err)
			}
		}
		recs := l.records()
		var got int64
		for _, r := range recs {
			got += r.Requests
		}
		if got >= n || time.Now().After(deadline) {
			return recs
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestProxy_RecordUsage_EveryFront(t *testing.T) {
	h := newSimHarness(t, "acct-a")
	long := strings.Repeat("lorem ipsum ", 200) // >= 256 input tokens: the simulator reports cached tokens
	reasoning := `,"reasoning":{"effort":"high","summary":"auto"}`
	tests := []struct {
		name, path, body, model string
	}{
		{"responses/stream", "/v1/responses", simBody, "gpt-5-codex"},
		{"responses/json", "/v1/responses", strings.Replace(simBody, `"stream":true,"store":false`, `"stream":false`, 1), "gpt-5-codex"},
		{"responses/reasoning+cached", "/v1/responses", strings.Replace(strings.Replace(simBody, `"hi"`, `"`+long+`"`, 1), `"store":false`, `"store":false`+reasoning, 1), "gpt-5-codex"},
		{"responses/incomplete", "/v1/responses", strings.Replace(simBody, `"hi"`, `"openaisim:incomplete"`, 1), "gpt-5-codex"},
		{"chat/stream", "/v1/chat/completions", `{"model":"gpt-5-codex","messages":[{"role":"user","content":"hi"}],"stream":true,"reasoning_effort":"high"}`, "gpt-5-codex"},
		{"chat/json", "/v1/chat/completions", `{"model":"gpt-5-codex","messages":[{"role":"user","content":"` + long + `"}]}`, "gpt-5-codex"},
		{"messages/stream", "/v1/messages", messagesBody(true, ""), ""},
		{"messages/json", "/v1/messages", messagesBody(false, ""), ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.sim.ResetStats()
			resp, body := h.post(tc.path, tc.body, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d: %s", resp.StatusCode, body)
			}
			recs := h.usage.waitRecords(t, int64(i+1))
			if len(recs) != i+1 {
				t.Fatalf("%d usage records after %d requests, want one per request", len(recs), i+1)
			}
			got, want := recs[i], h.sim.Stats().LastUsage
			if got.Key != "sim" || got.Account != "acct-a" || got.Time.IsZero() || got.Requests != 1 {
				t.Errorf("record %+v: want key sim, account acct-a, 1 request", got)
			}
			if tc.model != "" && got.Model != tc.model || got.Model == "" {
				t.Errorf("model %q, want %q", got.Model, tc.model)
			}
			if got.InputTokens != int64(want.InputTokens) || got.CachedTokens != int64(want.CachedTokens) ||
				got.OutputTokens != int64(want.OutputTokens) || got.ReasoningTokens != int64(want.ReasoningTokens) {
				t.Errorf("usage %+v, simulator reported %+v", got.Usage, want)
			}
		})
	}
	// The cases above must have exercised the details, or they prove little.
	var cached, reasoningSeen bool
	for _, r := range h.usage.records() {
		cached = cached || r.CachedTokens > 0
		reasoningSeen = reasoningSeen || r.ReasoningTokens > 0
	}
	if !cached || !reasoningSeen {
		t.Errorf("no case had cached (%v) or reasoning (%v) tokens", cached, reasoningSeen)
	}
}

func TestProxy_RecordUsage_NothingWithoutFinalUsage(t *testing.T) {
	h := newSimHarness(t, "acct-a")
	for _, tc := range []struct{ name, path, body string }{
		{"failed turn", "/v1/responses", strings.Replace(simBody, `"hi"`, `"openaisim:fail server_error"`, 1)},
		{"models", "/v1/models", ""},
		{"count_tokens", "/v1/messages/count_tokens", messagesBody(false, "")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body == "" {
				req, _ := http.NewRequest("GET", h.srv.URL+tc.path+"?client_version=0.169.0", nil)
				req.Header.Set("Authorization", "Bearer "+testKey)
				resp, err := h.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			} else {
				h.post(tc.path, tc.body, nil)
			}
		})
	}
	// A request with usage after them: once it is recorded, any record of
	// the ones before would be too.
	h.post("/v1/responses", simBody, nil)
	recs := h.usage.waitRecords(t, 1)
	time.Sleep(50 * time.Millisecond)
	if recs = h.usage.records(); len(recs) != 1 {
		t.Fatalf("records = %+v, want only the completed turn's", recs)
	}
}

func TestSSEReader_Usage_CutStream(t *testing.T) {
	// A stream cut before its final event has no usage to record.
	raw := "event: response.created\ndata: {\"type\":\"response.created\"}\n\nevent: response.output_text.delta\ndata: {\"delta\":\"response.completed\"}\n\n"
	r := newSSEReader(strings.NewReader(raw))
	defer r.release()
	for {
		if _, err := r.next(); err != nil {
			break
		}
	}
	if r.usage != nil {
		t.Errorf("usage %+v from a stream without a final event", r.usage)
	}
	// The same with a final event, data-only (the name comes from "type").
	raw += "data: {\"type\":\"response.completed\",\"response\":{\"model\":\"m\",\"usage\":{\"input_tokens\":7,\"input_tokens_details\":{\"cached_tokens\":3},\"output_tokens\":5,\"output_tokens_details\":{\"reasoning_tokens\":2}}}}\n\n"
	r2 := newSSEReader(strings.NewReader(raw))
	defer r2.release()
	for {
		if _, err := r2.next(); err != nil {
			break
		}
	}
	if want := (metering.Usage{Model: "m", InputTokens: 7, CachedTokens: 3, OutputTokens: 5, ReasoningTokens: 2}); r2.usage == nil || *r2.usage != want {
		t.Errorf("usage %+v, want %+v", r2.usage, want)
	}
}

// Through the proxy: a request writes nothing until a flush; Wait (which
// ends every Lambda invocation) flushes and waits, one write per counter.
func TestProxy_Wait_FlushesPendingUsage(t *testing.T) {
	h := newSimHarness(t, "acct-a")
	const n = 5
	for range n {
		if resp, body := h.post("/v1/responses", simBody, nil); resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	time.Sleep(50 * time.Millisecond) // a background write, if there were one, would land
	if recs := h.usage.records(); len(recs) != 0 {
		t.Fatalf("%d writes before any flush, want 0", len(recs))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	recs := h.usage.records()
	if len(recs) != 1 || recs[0].Requests != n || recs[0].InputTokens != n*int64(h.sim.Stats().LastUsage.InputTokens) {
		t.Errorf("records %+v, want one counter of %d requests", recs, n)
	}
	if err := h.p.Wait(ctx); err != nil || len(h.usage.records()) != 1 {
		t.Errorf("a second Wait wrote again: %v, %d records", err, len(h.usage.records()))
	}
}
