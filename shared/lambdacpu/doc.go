// Package lambdacpu fits the Go scheduler to the CPU a Lambda function is
// given.
//
// Lambda hands out CPU time in proportion to memory, while the Go runtime
// starts one P per core the host shows. Where that is more than the share,
// the extra Ps have no CPU of their own: their threads spin for work and
// wake each other, paid from the same share. Fit sets GOMAXPROCS to the
// whole vCPUs the memory buys, so the runtime schedules on the CPU the
// function has (docs/DESIGN.md §9.4 has what that saves, measured by
// `make bench`).
package lambdacpu
