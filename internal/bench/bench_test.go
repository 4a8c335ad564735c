package bench

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty sample")
	}
}

func TestParseStatCPU(t *testing.T) {
	stat := "1234 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 1 0"
	got, err := parseStatCPU([]byte(stat))
	if err != nil || got != (CPU{User: 1500 * time.Millisecond, System: 500 * time.Millisecond}) {
		t.Fatalf("got %+v, %v; want 1.5s user, 0.5s system", got, err)
	}
	if _, err := CPUTime(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if m, err := ReadMemory(os.Getpid()); err != nil || m.RSSKB == 0 {
		t.Fatalf("memory %+v, %v", m, err)
	}
}

// RunMixed interleaves the targets one request at a time, so that each
// meets the same moments of the machine; each gets exactly n.
func TestRunMixed_Interleaves(t *testing.T) {
	var mu sync.Mutex
	var order []string
	target := func(name string) Target {
		return Target{Name: name, Do: func(context.Context) error {
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		}}
	}
	targets := []Target{target("a"), target("b"), target("c")}
	samples := RunMixed(context.Background(), 1, 4, targets)
	if got := strings.Join(order, ""); got != "abcabcabcabc" {
		t.Fatalf("order %q, want the targets in turn", got)
	}
	for i, s := range samples {
		if len(s.Latencies) != 4 || s.Errors != 0 {
			t.Errorf("%s: %d latencies, %d errors; want 4, 0", targets[i].Name, len(s.Latencies), s.Errors)
		}
	}
	o, err := MeasureMixed(context.Background(), 4, 40, 4, targets, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if n := len(o.Samples[tg.Name].Latencies); n != 40 {
			t.Errorf("MeasureMixed %s: %d requests, want 40", tg.Name, n)
		}
	}
}

// PairedCPU pairs each round of serve with the same round of the floor,
// across concurrencies.
func TestLongFloor_PairedCPU(t *testing.T) {
	ms := time.Millisecond
	f := &LongFloor{Overhead: []*Overhead{
		{RoundCPU: map[string][]time.Duration{"s": {10 * ms, 12 * ms}, "f": {10 * ms, 8 * ms}}},
		{RoundCPU: map[string][]time.Duration{"s": {9 * ms}, "f": {12 * ms}}},
	}}
	got := f.PairedCPU("s", "f")
	want := []float64{1, 1.5, 0.75}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
