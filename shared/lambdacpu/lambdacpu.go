package lambdacpu

import (
	"runtime"
	"strconv"
)

// MBPerVCPU is the memory size at which Lambda gives a function one vCPU's
// worth of CPU time: "Lambda allocates CPU power in proportion to the
// amount of memory configured … At 1,769 MB, a function has the equivalent
// of one vCPU (one vCPU-second of credits per second)" (AWS Lambda
// Developer Guide, "Configure Lambda function memory",
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
const MBPerVCPU = 1769

// Procs is the GOMAXPROCS that fits memoryMB of Lambda memory on a host
// with numCPU visible cores: one per vCPU begun, at least 1, at most
// numCPU.
func Procs(memoryMB, numCPU int) int {
	return max(1, min((memoryMB+MBPerVCPU-1)/MBPerVCPU, numCPU))
}

// Fit sets GOMAXPROCS to Procs of the function's memory, which Lambda
// passes in AWS_LAMBDA_FUNCTION_MEMORY_SIZE. It leaves the runtime alone
// when the GOMAXPROCS variable is set (the operator's choice) or the size
// is absent or not a number (not in Lambda). It returns GOMAXPROCS as it
// is after the call, and whether Fit set it.
func Fit(getenv func(string) string) (procs int, fitted bool) {
	if getenv("GOMAXPROCS") != "" {
		return runtime.GOMAXPROCS(0), false
	}
	mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return runtime.GOMAXPROCS(0), false
	}
	procs = Procs(mb, runtime.NumCPU())
	runtime.GOMAXPROCS(procs)
	return procs, true
}
