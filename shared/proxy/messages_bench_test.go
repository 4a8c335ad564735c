package proxy

import (
	"bytes"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProxy_Front is one warm turn from the simulator (in process,
// over loopback) through each front: the Messages front's extra CPU per
// request over /v1/responses is the translation's (issue 16: ≤ 0.1 ms).
func BenchmarkProxy_Front(b *testing.B) {
	for _, tc := range []struct{ name, path, body string }{
		{"responses", "/v1/responses", simBody},
		{"messages", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"system":"You are Codex.","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newSimHarness(b, "a")
			b.ReportAllocs()
			start := processCPU(b)
			for b.Loop() {
				req := httptest.NewRequest("POST", tc.path, bytes.NewReader([]byte(tc.body)))
				req.Header.Set("Authorization", "Bearer "+testKey)
				rec := httptest.NewRecorder()
				h.srv.Config.Handler.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code, rec.Body.String())
				}
			}
			b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
