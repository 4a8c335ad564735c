// Package bench measures codexgate against the targets of docs/DESIGN.md §9 and
// writes docs/BENCHMARKS.md: the proxy's added latency, CPU and memory
// (direct to the simulator, through `codexgate serve`, through the proxy
// bootstrap under the Lambda RIE), AWS calls per warm request, per refresh
// and per refresh that runs long enough to renew its lease (counted at the
// SDK), a refresh storm across processes, cold
// starts, and a cost model from the counted calls.
//
// Section 6 sizes the proxy Lambda: the proxy bootstrap runs under the RIE
// inside a cgroup v1 cpu group whose CFS quota gives it the CPU share of a
// Lambda memory size (one vCPU at 1,769 MB), on a long stream; with the
// measured latency and public prices it prices a million one-minute turns
// per size and names the size the template's ProxyMemorySize defaults to.
// It also compares serve with the bare reverse proxy on that stream. Where
// no writable cpu controller exists, the size table is skipped with a note.
// `codexgate-bench -only cpushare` (BENCH_ONLY=cpushare make bench) runs
// section 6 alone.
//
// Everything runs on 127.0.0.1 against the moto stack of
// scripts/with-stack.sh; `make bench` is the entry point (scripts/bench.sh →
// cmd/codexgate-bench). Under plain `go test` only quick checks of the helpers
// run, and, on the local stack, the AWS-call counts of section 2
// (TestCountAWSCalls_Refresh).
package bench
