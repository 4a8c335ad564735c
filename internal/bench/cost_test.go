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
		// billed: the turn + the added end (82 − 70 ms); then the modelled
		// reads, logs and transfer out (10 accounts, 100–500 KB).
		"| 128 MB | 60.012 | 100.02 | 0.20 | 3.50 | 0.0000 | 0.500 | 0.60 | 9.00–45.00 | **113.82–149.82** |",
		"https://aws.amazon.com/cloudwatch/pricing/",
		"`ListSecrets`: $0",
		"| 40.000 | 10.000 | 12.000 |",
		RecommendedLine + "**256 MB**",
		DecidedLine + "**256 MB** (recorded 2026-12-07;",
		"128 MB 451.933 ms",
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

func TestExtrasPerMillionTurns(t *testing.T) {
	for _, tc := range []struct {
		name     string
		accounts int
		// dollars per million turns
		reads, logs, low, high float64
	}{
		// 1 GetItem + a 10 KB partition (3 read units) = 4 × $0.125;
		// 1.2 GB of logs × $0.50; 100–500 GB out × $0.09.
		{"10 accounts", 10, 0.50, 0.60, 9, 45},
		{"no account reads as one", 0, 0.25, 0.60, 9, 45},
		// 1,000 accounts: a 1 MB partition, 245 read units.
		{"1000 accounts", 1000, 0.125 * 246, 0.60, 9, 45},
	} {
		x := ExtrasPerMillionTurns(tc.accounts)
		for _, f := range []struct {
			what      string
			got, want float64
		}{{"reads", x.Reads(), tc.reads}, {"logs", x.Logs, tc.logs}, {"transfer low", x.TransferLow, tc.low}, {"transfer high", x.TransferHigh, tc.high}, {"ListSecrets", x.ListSecrets, 0}} {
			if math.Abs(f.got-f.want) > 1e-9 {
				t.Errorf("%s: %s $%.4f, want $%.4f", tc.name, f.what, f.got, f.want)
			}
		}
	}
	// 256 MB, nothing added: $204.325 measured-side, + reads and logs.
	low, high := CostPerMillionTurns(256, time.Minute, 0, priceDDBWrite).Totals(ExtrasPerMillionTurns(10))
	if base := 200.001 + 3.70 + 0.625 + 0.50 + 0.60; math.Abs(low-(base+9)) > 0.01 || math.Abs(high-(base+45)) > 0.01 {
		t.Errorf("256 MB totals $%.2f–%.2f, want $%.2f–%.2f", low, high, base+9, base+45)
	}
}

// The default configuration keeps an idle account within $0.50 a month;
// the opt-in per-account metrics add $0.90.
func TestIdleAccount_DefaultWithinFiftyCents(t *testing.T) {
	refresh := map[string]int{"GetSecretValue": 1, "PutSecretValue": 1, "UpdateItem": 3, "UpdateSecretVersionStage": 1}
	for _, tc := range []struct {
		name     string
		detailed bool
		min, max float64
	}{
		{"default", false, 0.40, 0.50},
		{"detailed metrics", true, 1.30, 1.40},
	} {
		if got := SumIdle(IdleAccount(refresh, 1, tc.detailed)); got < tc.min || got > tc.max {
			t.Errorf("%s: idle account $%.4f a month, want $%.2f–%.2f", tc.name, got, tc.min, tc.max)
		}
	}
	if got := SumIdle(IdleDeployment()); got < 2.5 || got > 2.6 {
		t.Errorf("idle deployment $%.4f a month, want $2.50–2.60 (metrics $1.50, alarms $1.00)", got)
	}
}

func TestResults_WriteCost_IdleTable(t *testing.T) {
	r := &Results{Calls: &AWSCalls{WarmRequests: 10, WarmByOp: map[string]int{"UpdateItem": 10}, Refreshes: 2,
		RefreshByOp: map[string]int{"GetSecretValue": 2, "PutSecretValue": 2, "UpdateItem": 6, "UpdateSecretVersionStage": 2}}}
	var b bytes.Buffer
	r.writeCost(func(f string, a ...any) { fmt.Fprintf(&b, f+"\n", a...) })
	for _, want := range []string{
		"| 1 million warm proxy requests | UpdateItem 1.00 per request | $0.6250 |",
		"### Idle monthly cost",
		"| **idle deployment** | **total** | | **2.50** |",
		"| **idle account** | **total** | | **0.42** |",
		"| **idle account, detailed metrics** | **total** | | **1.32** |",
		"`ListSecrets`",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("section 5 lacks %q:\n%s", want, b.String())
		}
	}
}

// The recorded decision is consistent: no smaller size meets its rule (if
// one did, the record should adopt it), and a size with too few runs or one
// run over the margin does not.
func TestMemoryDecision_Fits(t *testing.T) {
	for mb := 128; mb < ProxyMemory.MemoryMB; mb *= 2 {
		if ProxyMemory.Fits(mb) {
			t.Errorf("%d MB meets the rule (%d runs within %s): adopt it in ProxyMemory", mb, ProxyMemory.MinRuns, ColdBudget-ProxyMemory.ColdMargin)
		}
	}
	run := func(d time.Duration) MemoryRun { return MemoryRun{Slowest: map[int]time.Duration{128: d}} }
	for _, tc := range []struct {
		name string
		runs []MemoryRun
		want bool
	}{
		{"three runs within the margin", []MemoryRun{run(200 * time.Millisecond), run(210 * time.Millisecond), run(225 * time.Millisecond)}, true},
		{"two runs", []MemoryRun{run(200 * time.Millisecond), run(210 * time.Millisecond)}, false},
		{"one within the budget but not the margin", []MemoryRun{run(200 * time.Millisecond), run(262 * time.Millisecond), run(210 * time.Millisecond), run(205 * time.Millisecond)}, false},
	} {
		d := MemoryDecision{MemoryMB: 256, ColdMargin: 75 * time.Millisecond, MinRuns: 3, Runs: tc.runs}
		if got := d.Fits(128); got != tc.want {
			t.Errorf("%s: Fits(128) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
