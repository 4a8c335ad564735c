package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/sse"
)

// bigBody is a Codex-like request with a long history (~2 MB).
func bigBody() string {
	item := `{"type":"message","role":"user","content":[{"type":"input_text","text":"` + strings.Repeat("lorem ipsum dolor sit amet ", 40) + `"}]},`
	n := (2 << 20) / len(item)
	return `{"model":"gpt-5-codex","instructions":"You are Codex.","input":[` + strings.Repeat(item, n) + `{"type":"message","role":"user","content":[]}],"stream":true,"store":false,"prompt_cache_key":"abc"}`
}

func BenchmarkReadRequest(b *testing.B) {
	rt, _ := match("POST", "/v1/responses")
	cfg := &Config{MaxBodyBytes: DefaultMaxBodyBytes}
	for _, tc := range []struct{ name, body string }{{"small", streamBody}, {"2MB", bigBody()}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/v1/responses", strings.NewReader(tc.body))
				if _, err := readRequest(r, rt, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProxy_ServeHTTP measures the proxy's own work per warm streamed
// request (handler in process, upstream over loopback).
func BenchmarkProxy_ServeHTTP(b *testing.B) {
	benchServeHTTP(b, newHarness(b, []string{"a", "b"}))
}

// BenchmarkProxy_ServeHTTP_KeyControls is BenchmarkProxy_ServeHTTP with a
// key that has every routing control set (allow-list, account binding,
// concurrency cap): the difference is what the controls cost per request.
func BenchmarkProxy_ServeHTTP_KeyControls(b *testing.B) {
	keys := &infoKeys{info: KeyInfo{Name: "team", Models: []string{"gpt-5.5", "gpt-5-codex", "gpt-5-mini"},
		Accounts: []string{"a", "b"}, MaxConcurrent: 64}}
	benchServeHTTP(b, newHarness(b, []string{"a", "b", "c"}, func(c *Config) { c.Keys = keys }))
}

// benchServeHTTP streams one completed turn per iteration through h's proxy.
func benchServeHTTP(b *testing.B, h *harness) {
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range completedEvents(rec.Account) {
			io.WriteString(w, ev)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/responses", bytes.NewReader([]byte(streamBody)))
		req.Header.Set("Authorization", "Bearer "+testKey)
		rec := httptest.NewRecorder()
		h.proxy.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkProxy_ServeHTTP_LongStream is BenchmarkProxy_ServeHTTP on a turn
// of 248 events, each flushed by the upstream on its own (as the Codex
// backend streams), reported as ns/event; "floor" sends the same turn
// through a bare httputil.ReverseProxy in the same process, so the
// difference is the proxy's own per-event work.
func BenchmarkProxy_ServeHTTP_LongStream(b *testing.B) {
	const deltas = 246
	h := newHarness(b, []string{"a", "b"})
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		w.Header().Set("Content-Type", "text/event-stream")
		evs := completedEvents(rec.Account)
		io.WriteString(w, evs[0])
		w.(http.Flusher).Flush()
		for range deltas {
			io.WriteString(w, evs[1])
			w.(http.Flusher).Flush()
		}
		io.WriteString(w, evs[2])
	}
	u, _ := url.Parse(strings.TrimSuffix(h.proxy.cfg.UpstreamURL, "/backend-api/codex"))
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	// The floor reads the request body before forwarding, as
	// internal/bench's does and codexgate does (docs/DESIGN.md §9.2):
	// streamed straight through, a few answers in a hundred are cut.
	floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		rp.ServeHTTP(w, r)
	})
	// Both are served over loopback TCP like the real thing: writing the
	// events to the client is half the relay's work.
	for _, tc := range []struct {
		name    string
		handler http.Handler
		path    string
	}{{"codexgate", h.proxy, "/v1/responses"}, {"floor", floor, "/backend-api/codex/responses"}} {
		b.Run(tc.name, func(b *testing.B) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := srv.Client()
			b.ReportAllocs()
			for b.Loop() {
				req, _ := http.NewRequest("POST", srv.URL+tc.path, bytes.NewReader([]byte(streamBody)))
				req.Header.Set("Authorization", "Bearer "+testKey)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 || !bytes.Contains(body, []byte("response.completed")) {
					b.Fatal(resp.StatusCode, err, string(body))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(deltas+2), "ns/event")
		})
	}
}

// oneEventPerRead hands out one event per Read, as a backend that flushes
// every event does over a fast connection.
type oneEventPerRead struct {
	evs []string
	i   int
}

func (f *oneEventPerRead) Read(p []byte) (int, error) {
	if f.i == len(f.evs) {
		return 0, io.EOF
	}
	n := copy(p, f.evs[f.i])
	f.i++
	return n, nil
}

// BenchmarkSSEReader_PerEvent isolates the relay's own look at each event
// (finding its end, its name, the final usage) from the sockets: "reader"
// hands a 242-event turn out through the sseReader, "copy" reads the same
// reads into one buffer as io.Copy does. The difference per event is what
// whole-event relaying costs over the floor's copy (docs/DESIGN.md §9.3).
func BenchmarkSSEReader_PerEvent(b *testing.B) {
	const deltas = 240
	words := make([]string, deltas)
	evs := []string{sseEvent("response.created", map[string]any{"type": "response.created", "response": map[string]any{"id": "resp_1", "status": "in_progress"}})}
	for i := range words {
		words[i] = "word" + strconv.Itoa(i)
		evs = append(evs, sseEvent("response.output_text.delta", map[string]any{"type": "response.output_text.delta", "sequence_number": i + 1, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": " " + words[i]}))
	}
	evs = append(evs, sseEvent("response.completed", map[string]any{"type": "response.completed", "response": map[string]any{
		"id": "resp_1", "object": "response", "status": "completed", "model": "gpt-5-codex",
		"output": []any{map[string]any{"type": "message", "content": []any{map[string]any{"type": "output_text", "text": strings.Join(words, " ")}}}},
		"usage":  map[string]any{"input_tokens": 10, "input_tokens_details": map[string]any{"cached_tokens": 0}, "output_tokens": deltas, "output_tokens_details": map[string]any{"reasoning_tokens": 0}},
	}}))
	perEvent := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
	}
	b.Run("reader", func(b *testing.B) {
		for b.Loop() {
			sr := newSSEReader(&oneEventPerRead{evs: evs})
			for {
				if _, err := sr.next(); err != nil {
					break
				}
			}
			if !sr.terminal || sr.usage == nil || sr.usage.OutputTokens != deltas {
				b.Fatalf("terminal %v, usage %+v", sr.terminal, sr.usage)
			}
			sr.release()
		}
		perEvent(b)
	})
	b.Run("copy", func(b *testing.B) {
		buf := make([]byte, sse.BufferSize)
		for b.Loop() {
			src := &oneEventPerRead{evs: evs}
			for {
				if _, err := src.Read(buf); err != nil {
					break
				}
			}
		}
		perEvent(b)
	})
}

// BenchmarkPool_Pick is one pick among 100 accounts under each strategy
// (every tenth paused, priorities 0..2, quota known for all).
func BenchmarkPool_Pick(b *testing.B) {
	clock := newFakeClock()
	now := clock.Now()
	store := &fakeStore{}
	for i := range 100 {
		name := fmt.Sprintf("acct-%03d", i)
		store.names = append(store.names, name)
		store.states = append(store.states, AccountState{Account: name, Paused: i%10 == 0, Priority: i % 3,
			Quota: quota.Snapshot{FetchedAt: now, Windows: []quota.Window{
				{UsedPercent: float64(i % 97), ResetAt: now.Add(time.Duration(i) * time.Minute)},
				{UsedPercent: float64(i % 50), ResetAt: now.Add(time.Duration(i) * time.Hour)},
			}}})
	}
	for _, s := range Strategies {
		b.Run(s, func(b *testing.B) {
			cfg := &Config{UpstreamURL: "http://127.0.0.1:1/x", Tokens: newFakeTokens(), Keys: &fakeKeys{},
				Accounts: store, States: store, Clock: clock.Now, Logger: slog.New(slog.DiscardHandler), Strategy: s}
			if _, err := cfg.validate(); err != nil {
				b.Fatal(err)
			}
			p := newPool(cfg)
			if err := p.ensure(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := p.pick("", nil, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProxy_ServeHTTP_Routing is BenchmarkProxy_ServeHTTP for a plain
// model name and for an effort-suffixed one (the body is rewritten).
func BenchmarkProxy_ServeHTTP_Routing(b *testing.B) {
	h := newHarness(b, []string{"a", "b"}, func(c *Config) { c.Strategy = StrategyFillFirst })
	h.up.handle = func(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range completedEvents(rec.Account) {
			io.WriteString(w, ev)
		}
	}
	for _, tc := range []struct{ name, body string }{
		{"plain", streamBody},
		{"suffixed", strings.Replace(streamBody, `"gpt-5-codex"`, `"gpt-5-codex-high"`, 1)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/v1/responses", strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+testKey)
				rec := httptest.NewRecorder()
				h.proxy.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
		})
	}
}
