package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
)

// bigBody is a Codex-like request with a long history (~2 MB).
func bigBody() string {
	item := `{"type":"message","role":"user","content":[{"type":"input_text","text":"` + strings.Repeat("lorem ipsum dolor sit amet ", 40) + `"}]},`
	n := (2 << 20) / len(item)
	return `{"model":"gpt-5-codex","instructions":"You are Codex.","input":[` + strings.Repeat(item, n) + `{"type":"message","role":"user","content":[]}],"stream":true,"store":false,"prompt_cache_key":"abc"}`
}

func BenchmarkReadRequest(b *testing.B) {
	rt, _, _ := match("POST", "/v1/responses")
	for _, tc := range []struct{ name, body string }{{"small", streamBody}, {"2MB", bigBody()}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(tc.body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", "/v1/responses", strings.NewReader(tc.body))
				if _, err := readRequest(r, rt, DefaultMaxBodyBytes); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkProxy_ServeHTTP measures the proxy's own work per warm streamed
// request (handler in process, upstream over loopback).
func BenchmarkProxy_ServeHTTP(b *testing.B) {
	h := newHarness(b, []string{"a", "b"})
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
