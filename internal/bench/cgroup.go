package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/codexgate/codexgate/shared/lambdacpu"
)

// LambdaMBPerVCPU is the memory size at which Lambda gives a function one
// vCPU's worth of CPU time (lambdacpu.MBPerVCPU, with its source).
const LambdaMBPerVCPU = lambdacpu.MBPerVCPU

// CgroupCPURoot is where the cgroup v1 cpu controller is mounted.
var CgroupCPURoot = "/sys/fs/cgroup/cpu"

// cgroupPrefix names every group this package creates, so that groups left
// by a killed run can be found and removed by the next one.
const cgroupPrefix = "codexgate-bench-"

// QuotaFor is the CFS quota per period that gives memMB of Lambda memory its
// CPU share: period × memMB / 1769 (never below the kernel's 1 ms minimum).
func QuotaFor(memMB int, period time.Duration) time.Duration {
	q := time.Duration(int64(period) * int64(memMB) / LambdaMBPerVCPU)
	return max(q, time.Millisecond)
}

// CPUGroup is one cgroup v1 cpu group with a CFS bandwidth limit. Processes
// enter it by writing their pid to Procs (see WrapInGroup); Remove deletes it.
type CPUGroup struct {
	Dir           string
	Quota, Period time.Duration
}

// CgroupCPUUsable says why CPU quotas cannot be set here ("" when they can):
// the cpu controller must be mounted (cgroup v1) and writable.
func CgroupCPUUsable() string {
	if _, err := os.Stat(filepath.Join(CgroupCPURoot, "cpu.cfs_quota_us")); err != nil {
		return fmt.Sprintf("no cgroup v1 cpu controller at %s (%v)", CgroupCPURoot, err)
	}
	probe := filepath.Join(CgroupCPURoot, fmt.Sprintf("%sprobe-%d", cgroupPrefix, os.Getpid()))
	if err := os.Mkdir(probe, 0o755); err != nil {
		return fmt.Sprintf("cannot create a group under %s (%v; run as root)", CgroupCPURoot, err)
	}
	os.Remove(probe) //nolint:errcheck // empty group, just created
	return ""
}

// NewCPUGroup creates a group named after this process and label, limited
// to quota per period.
func NewCPUGroup(label string, quota, period time.Duration) (*CPUGroup, error) {
	g := &CPUGroup{Dir: filepath.Join(CgroupCPURoot, fmt.Sprintf("%s%d-%s", cgroupPrefix, os.Getpid(), label)), Quota: quota, Period: period}
	if err := os.Mkdir(g.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	// The period first: the kernel checks quota against it.
	if err := g.write("cpu.cfs_period_us", period.Microseconds()); err != nil {
		g.Remove() //nolint:errcheck // reporting the first error
		return nil, err
	}
	if err := g.write("cpu.cfs_quota_us", quota.Microseconds()); err != nil {
		g.Remove() //nolint:errcheck // reporting the first error
		return nil, err
	}
	return g, nil
}

func (g *CPUGroup) write(file string, v int64) error {
	if err := os.WriteFile(filepath.Join(g.Dir, file), []byte(strconv.FormatInt(v, 10)), 0); err != nil {
		return fmt.Errorf("cgroup %s: %w", file, err)
	}
	return nil
}

// Procs is the file a process writes its pid to in order to join the group.
func (g *CPUGroup) Procs() string { return filepath.Join(g.Dir, "cgroup.procs") }

// Pids are the processes in the group now.
func (g *CPUGroup) Pids() []int {
	b, _ := os.ReadFile(g.Procs())
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// Throttling is the group's cpu.stat: how often the quota ran out.
type Throttling struct {
	Periods, Throttled int64
	ThrottledTime      time.Duration
}

// Stat reads cpu.stat.
func (g *CPUGroup) Stat() (Throttling, error) {
	b, err := os.ReadFile(filepath.Join(g.Dir, "cpu.stat"))
	if err != nil {
		return Throttling{}, err
	}
	var t Throttling
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "nr_periods":
			t.Periods = n
		case "nr_throttled":
			t.Throttled = n
		case "throttled_time":
			t.ThrottledTime = time.Duration(n)
		}
	}
	return t, nil
}

// WrapInGroup writes an executable shell script into dir that moves itself
// into g and then execs bin: handed to the RIE as the bootstrap, it puts the
// bootstrap (and only it, not the emulator, which stands in for Lambda's
// own machinery) under the quota from its first instruction on.
func (g *CPUGroup) WrapInGroup(dir, bin string) (string, error) {
	path := filepath.Join(dir, "bootstrap-in-"+filepath.Base(g.Dir))
	script := fmt.Sprintf("#!/bin/sh\necho $$ > %s || exit 97\nexec %s \"$@\"\n", shellQuote(g.Procs()), shellQuote(bin))
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("cgroup wrapper: %w", err)
	}
	return path, nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// Remove deletes the group. Processes still in it (the caller should have
// stopped them) are moved back to the root group first, since a group with
// members cannot be removed; rmdir is retried briefly because a process that
// was just killed leaves the group only once it is reaped.
func (g *CPUGroup) Remove() error {
	var err error
	for deadline := time.Now().Add(3 * time.Second); ; {
		for _, pid := range g.Pids() {
			os.WriteFile(filepath.Join(CgroupCPURoot, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0) //nolint:errcheck // it may have exited
		}
		err = os.Remove(g.Dir)
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup remove %s: %w", g.Dir, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RemoveStaleCPUGroups removes groups a killed earlier run left behind
// (named with this package's prefix and a pid that no longer runs).
func RemoveStaleCPUGroups() {
	dirs, _ := filepath.Glob(filepath.Join(CgroupCPURoot, cgroupPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), cgroupPrefix)
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue // its run is still going
		}
		(&CPUGroup{Dir: d}).Remove() //nolint:errcheck // best effort
	}
}
