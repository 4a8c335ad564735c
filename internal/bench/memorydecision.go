package bench

import (
	"fmt"
	"strings"
	"time"
)

// MemoryRun is one run's evidence for the proxy memory size: the slowest
// cold start it measured at each size (section 6) and what it recommended.
type MemoryRun struct {
	Date        string
	Where       string
	Slowest     map[int]time.Duration // memory MB → slowest cold overhead of the run
	Recommended int                   // MB; 0: none
}

// MemoryDecision is the recorded proxy memory size: template.yaml's
// ProxyMemorySize default, decided from repeated runs with a margin, not
// from the latest run (internal/samtemplate checks the template against
// it). A `make bench` run reports its own recommendation beside it and
// never changes it: change it here, with the runs that justify it.
type MemoryDecision struct {
	MemoryMB int
	Decided  string
	// Rule is how a smaller size is adopted: its slowest cold start within
	// ColdBudget less ColdMargin in each of at least MinRuns recorded runs
	// on an otherwise idle machine.
	ColdMargin time.Duration
	MinRuns    int
	Runs       []MemoryRun
}

// ProxyMemory is the recorded decision: 256 MB. 128 MB would halve a
// turn's Lambda duration price, but its slowest cold start was 452 ms in
// the report's run (budget 300 ms) and 262 ms in one re-run on an idle
// machine: one fit, inside the budget by 38 ms, short of the 75 ms margin,
// against one miss. 256 MB's slowest, 189 ms, is within the margin.
var ProxyMemory = MemoryDecision{
	MemoryMB:   256,
	Decided:    "2026-12-07",
	ColdMargin: 75 * time.Millisecond,
	MinRuns:    3,
	Runs: []MemoryRun{
		{Date: "2026-11-30", Where: "`make bench`, docs/BENCHMARKS.md (load 0.61 at start)",
			Slowest: map[int]time.Duration{128: 451933 * time.Microsecond, 256: 188590 * time.Microsecond, 512: 69615 * time.Microsecond, 1024: 85844 * time.Microsecond}, Recommended: 256},
		{Date: "2026-12 (issue 27)", Where: "`make bench` re-run on an idle machine",
			Slowest: map[int]time.Duration{128: 262 * time.Millisecond}, Recommended: 128},
		{Date: "2026-12-07", Where: "`make bench`, docs/BENCHMARKS.md (tests running beside it)",
			Slowest: map[int]time.Duration{128: 181376 * time.Microsecond, 256: 84774 * time.Microsecond, 512: 42905 * time.Microsecond, 1024: 42832 * time.Microsecond}, Recommended: 128},
	},
}

// Fits says whether memMB meets the decision's rule: its slowest cold start
// within ColdBudget − ColdMargin in at least MinRuns runs, and in every
// run that measured it.
func (d MemoryDecision) Fits(memMB int) bool {
	n := 0
	for _, r := range d.Runs {
		s, ok := r.Slowest[memMB]
		if !ok {
			continue
		}
		if s > ColdBudget-d.ColdMargin {
			return false
		}
		n++
	}
	return n >= d.MinRuns
}

// Evidence is the recorded runs, one phrase each, for the report.
func (d MemoryDecision) Evidence() string {
	var b []string
	for _, r := range d.Runs {
		var sizes []string
		for _, mb := range []int{128, 256, 512, 1024} {
			if s, ok := r.Slowest[mb]; ok {
				sizes = append(sizes, fmt.Sprintf("%d MB %s ms", mb, ms(s)))
			}
		}
		rec := "none"
		if r.Recommended > 0 {
			rec = fmt.Sprintf("%d MB", r.Recommended)
		}
		b = append(b, fmt.Sprintf("%s, %s: slowest cold start %s; recommended %s", r.Date, r.Where, strings.Join(sizes, ", "), rec))
	}
	return strings.Join(b, "; ")
}
