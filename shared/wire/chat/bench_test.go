package chat

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// cpuNow is this process's user+system CPU time. The benchmarks report CPU
// per operation beside wall time: on a shared machine wall time measures
// the neighbours as much as the code.
func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuNow(b)-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkTranslate is the request side of one small chat turn.
func BenchmarkTranslate(b *testing.B) {
	body := []byte(`{"model":"gpt-5-codex","messages":[{"role":"system","content":"You are Codex."},{"role":"user","content":"Say hello."}],"stream":true}`)
	b.ReportAllocs()
	start := cpuNow(b)
	for b.Loop() {
		if _, err := Translate(body); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkConverter_Stream converts the simulator's text turn
// (testdata/stream/text.sse, 16 events) to chunks, as the proxy does for
// one streamed request.
func BenchmarkConverter_Stream(b *testing.B) {
	raw, err := os.ReadFile("testdata/stream/text.sse")
	if err != nil {
		b.Fatal(err)
	}
	names, datas := readSSE(&testing.T{}, raw)
	tr := &Translated{Model: "gpt-5-codex", Stream: true, IncludeUsage: true}
	buf := make([]byte, 0, 8<<10)
	b.ReportAllocs()
	start := cpuNow(b)
	for b.Loop() {
		c := NewConverter(tr)
		out := buf[:0]
		for i := range names {
			if out, _, err = c.Event(out, names[i], datas[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportCPU(b, start)
}
