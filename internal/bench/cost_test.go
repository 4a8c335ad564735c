package bench

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestCostPerMillionTurns(t *testing.T) {
	for _, tc := range []struct {
		mb    int
		added time.Duration
		store float64
		want  float64 // dollars per million turns
	}{
		// 0.125 GB × 60 s × $0.0000133334 × 1e6 = $100.0005, + $0.20 + $3.50.
		{128, 0, 0, 100.0005 + 0.20 + 3.50},
		{1024, 0, 0, 800.004 + 0.20 + 3.50},
		// Added latency is billed; a negative one (noise) is not credited.
		{1024, 600 * time.Millisecond, 0, 1024.0/1024*60.6*0.0000133334*1e6 + 3.70},
		{1024, -time.Second, 0, 800.004 + 3.70},
		// Storage calls per turn, e.g. one DynamoDB read.
		{128, 0, priceDDBRead, 100.0005 + 3.70 + 0.125},
	} {
		got := CostPerMillionTurns(tc.mb, time.Minute, tc.added, tc.store).Total()
		if math.Abs(got-tc.want) > 0.001 {
			t.Errorf("%d MB, added %v, store %g: $%.4f, want $%.4f", tc.mb, tc.added, tc.store, got, tc.want)
		}
	}
}

// shareSize builds a measured size with the given medians.
func shareSize(mb int, firstByteAdded, cold time.Duration) ShareSize {
	one := func(d time.Duration) *Sample { return &Sample{Latencies: []time.Duration{d}} }
	return ShareSize{
		MemoryMB: mb, Period: 100 * time.Millisecond, Quota: QuotaFor(mb, 100*time.Millisecond),
		Colds:     []time.Duration{cold},
		FirstByte: one(5*time.Millisecond + firstByteAdded), DirectFirstByte: one(5 * time.Millisecond),
		Whole: one(80 * time.Millisecond), End: one(82 * time.Millisecond), DirectWhole: one(70 * time.Millisecond),
		Events: 248, CPU: 20 * time.Millisecond, Turns: 10,
	}
}

// withColds replaces s's cold starts (sorted, as measured).
func withColds(s ShareSize, colds ...time.Duration) ShareSize {
	s.Colds = colds
	return s
}

func TestCPUShare_Recommended(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		sizes []ShareSize
		want  int // 0: none
	}{
		{"smallest fits", []ShareSize{shareSize(128, 5*ms, 100*ms), shareSize(256, 2*ms, 90*ms)}, 128},
		{"first byte too slow at 128", []ShareSize{shareSize(128, 21*ms, 100*ms), shareSize(256, 8*ms, 100*ms), shareSize(512, 6*ms, 90*ms)}, 256},
		{"cold start too slow at 128 and 256", []ShareSize{shareSize(128, 5*ms, 400*ms), shareSize(256, 5*ms, 301*ms), shareSize(512, 5*ms, 300*ms)}, 512},
		{"order does not matter", []ShareSize{shareSize(1024, 1*ms, 50*ms), shareSize(256, 1*ms, 50*ms)}, 256},
		{"an error is no fit", []ShareSize{{MemoryMB: 128, Err: errors.New("boom")}, shareSize(256, 1*ms, 50*ms)}, 256},
		{"none fits", []ShareSize{shareSize(128, 30*ms, 50*ms)}, 0},
		{"the median fits at 128 but not the slowest cold start", []ShareSize{withColds(shareSize(128, 5*ms, 0), 250*ms, 280*ms, 385*ms), shareSize(256, 5*ms, 180*ms)}, 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			best, ok := (&CPUShare{Sizes: tc.sizes}).Recommended()
			if got := map[bool]int{true: best.MemoryMB}[ok]; got != tc.want {
				t.Errorf("recommended %d MB (ok %v), want %d", best.MemoryMB, ok, tc.want)
			}
		})
	}
}

func TestResults_WriteShare(t *testing.T) {
	ms := time.Millisecond
	r := &Results{
		Share: &CPUShare{Sizes: []ShareSize{shareSize(128, 40*ms, 100*ms), shareSize(256, 8*ms, 120*ms), {MemoryMB: 512, Period: 100 * ms, Quota: QuotaFor(512, 100*ms), Err: errors.New("rie\nexploded")}}},
		Calls: &AWSCalls{WarmRequests: 100, WarmByOp: map[string]int{}},
	}
	var b bytes.Buffer
	r.writeShare(func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) })
	out := b.String()
	for _, want := range []string{
		"| 128 MB | 7.2% (7235 µs / 100000 µs) | 100.000 (100.000) | 40.000 | 10.000 |",
		"**missed**: first byte +40.000 ms > 20ms",
		"| 256 MB | 14.5% (14471 µs / 100000 µs) | 120.000 (120.000) | 8.000 |",
		"not measured: `rie exploded`",
		"| 128 MB | 60.012 | 100.02 | 0.20 | 3.50 | 0.0000 | **103.72** |", // billed: the turn + the added end (82 − 70 ms)
		"| 40.000 | 10.000 | 12.000 |",
		RecommendedLine + "**256 MB**",
		"https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html",
		"https://aws.amazon.com/lambda/pricing/",
		"https://aws.amazon.com/api-gateway/pricing/",
		"CPU per event µs",
		"| 8.1 |", // 2 ms per turn over 248 events
	} {
		if !strings.Contains(out, want) {
			t.Errorf("section 6 lacks %q:\n%s", want, out)
		}
	}
	r.Share = &CPUShare{Skipped: "no cgroup v1 cpu controller at /x"}
	b.Reset()
	r.writeShare(func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) })
	if !strings.Contains(b.String(), "**Skipped: no cgroup v1 cpu controller at /x.**") || strings.Contains(b.String(), RecommendedLine) {
		t.Errorf("skipped section:\n%s", b.String())
	}
}
