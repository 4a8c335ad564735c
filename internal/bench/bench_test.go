package bench

import (
	"os"
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
