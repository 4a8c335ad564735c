package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
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
