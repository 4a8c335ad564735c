package lambdacpu

import (
	"runtime"
	"testing"
)

func TestProcs(t *testing.T) {
	for _, tc := range []struct{ mb, cpus, want int }{
		{128, 2, 1},
		{256, 2, 1},
		{1769, 2, 1},   // exactly one vCPU
		{1770, 2, 2},   // a second vCPU begun
		{3008, 2, 2},   // the emulator's default size
		{10240, 2, 2},  // never more than the host shows
		{10240, 16, 6}, // 10 GB: 5.8 vCPUs
		{0, 2, 1},
	} {
		if got := Procs(tc.mb, tc.cpus); got != tc.want {
			t.Errorf("Procs(%d MB, %d CPUs) = %d, want %d", tc.mb, tc.cpus, got, tc.want)
		}
	}
}

func TestFit(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

	runtime.GOMAXPROCS(2)
	if p, fitted := Fit(env(map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"})); !fitted || p != 1 || runtime.GOMAXPROCS(0) != 1 {
		t.Fatalf("256 MB: Fit = %d, %v; GOMAXPROCS %d, want 1", p, fitted, runtime.GOMAXPROCS(0))
	}

	for name, kv := range map[string]map[string]string{
		"operator's GOMAXPROCS wins": {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "GOMAXPROCS": "2"},
		"not in Lambda":              {},
		"size not a number":          {"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"},
	} {
		runtime.GOMAXPROCS(2)
		if p, fitted := Fit(env(kv)); fitted || p != 2 || runtime.GOMAXPROCS(0) != 2 {
			t.Errorf("%s: Fit = %d, %v; GOMAXPROCS %d, want it left at 2", name, p, fitted, runtime.GOMAXPROCS(0))
		}
	}
}
