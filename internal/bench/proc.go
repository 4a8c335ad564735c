package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime/stime in /proc/<pid>/stat. It is
// 100 on every Linux ABI Go supports.
const clockTick = 10 * time.Millisecond

// CPUTime returns the user+system CPU time process pid has used so far
// (fields 14 and 15 of /proc/<pid>/stat; threads included).
func CPUTime(pid int) (time.Duration, error) {
	c, err := ReadCPU(pid)
	return c.User + c.System, err
}

// CPU is a process's CPU time so far, in user space (its own code) and in
// the kernel (its system calls, and whatever interrupt work the kernel
// charged to it).
type CPU struct{ User, System time.Duration }

// ReadCPU returns the CPU time process pid has used so far, threads
// included.
func ReadCPU(pid int) (CPU, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return CPU{}, err
	}
	return parseStatCPU(b)
}

func parseStatCPU(b []byte) (CPU, error) {
	// comm (field 2) may hold spaces and parentheses: split after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return CPU{}, fmt.Errorf("proc stat: no ')'")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime 15.
	if len(f) < 13 {
		return CPU{}, fmt.Errorf("proc stat: %d fields", len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return CPU{}, fmt.Errorf("proc stat: bad utime/stime %q %q", f[11], f[12])
	}
	return CPU{User: time.Duration(u) * clockTick, System: time.Duration(s) * clockTick}, nil
}

// Memory is a process's resident set from /proc/<pid>/status.
type Memory struct {
	RSSKB, PeakKB int64 // VmRSS, VmHWM
}

// ReadMemory returns VmRSS and VmHWM of process pid.
func ReadMemory(pid int) (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	return parseStatus(b), nil
}

func parseStatus(b []byte) Memory {
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSSKB = n
		case "VmHWM":
			m.PeakKB = n
		}
	}
	return m
}

// Children returns the ids of pid's direct children (all threads).
func Children(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// OnCPUTime returns the time process pid's live threads have spent on a CPU,
// in nanoseconds: the sum of the first field of /proc/<pid>/task/*/schedstat.
// Unlike CPUTime it is not rounded to 10 ms ticks, so it can time a few
// requests; a thread that has exited is no longer counted (Go keeps its
// threads).
func OnCPUTime(pid int) (time.Duration, error) {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, t.Name()))
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, fmt.Errorf("schedstat: empty")
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("schedstat: %w", err)
		}
		sum += time.Duration(n)
	}
	return sum, nil
}
