package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestQuotaFor(t *testing.T) {
	for _, tc := range []struct {
		mb     int
		period time.Duration
		want   time.Duration
	}{
		{1769, 100 * time.Millisecond, 100 * time.Millisecond}, // one vCPU
		{3538, 100 * time.Millisecond, 200 * time.Millisecond}, // two
		{128, 100 * time.Millisecond, 7235 * time.Microsecond}, // 7.2 %
		{1024, 100 * time.Millisecond, 57885 * time.Microsecond},
		{128, 10 * time.Millisecond, time.Millisecond}, // 0.72 ms: the kernel's minimum
	} {
		if got := QuotaFor(tc.mb, tc.period).Truncate(time.Microsecond); got != tc.want {
			t.Errorf("QuotaFor(%d, %v) = %v, want %v", tc.mb, tc.period, got, tc.want)
		}
	}
}

// needCgroup skips when this machine cannot set CPU quotas (not root, no
// cgroup v1 cpu controller): a property of the machine, as `make bench`
// skips its CPU-share section there too.
func needCgroup(t *testing.T) {
	t.Helper()
	if why := CgroupCPUUsable(); why != "" {
		t.Skip("cgroup cpu quota: " + why)
	}
}

// A busy loop wrapped into a group with a 10 % quota gets about 10 % of one
// CPU; the same loop outside any group (the control) gets far more. Remove
// deletes the group although the loop still runs in it.
func TestCPUGroup_WrapInGroup_LimitsCPU(t *testing.T) {
	needCgroup(t)
	const period, quota = 100 * time.Millisecond, 10 * time.Millisecond
	g, err := NewCPUGroup("test-"+randHex(3), quota, period)
	if err != nil {
		t.Fatal(err)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			g.Remove() //nolint:errcheck // test cleanup
		}
	})
	for file, want := range map[string]string{"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "10000"} {
		if b, _ := os.ReadFile(filepath.Join(g.Dir, file)); strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q, want %s", file, b, want)
		}
	}
	dir := t.TempDir()
	loop := filepath.Join(dir, "loop")
	if err := os.WriteFile(loop, []byte("#!/bin/sh\nwhile :; do :; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	wrapped, err := g.WrapInGroup(dir, loop)
	if err != nil {
		t.Fatal(err)
	}
	busy := func(bin string) (time.Duration, *exec.Cmd) {
		cmd := exec.Command(bin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck // ours
		time.Sleep(time.Second)
		cpu, err := OnCPUTime(cmd.Process.Pid)
		if err != nil {
			t.Fatalf("%v (%s)", err, stderr.String())
		}
		return cpu, cmd
	}
	limited, cmd := busy(wrapped)
	if pids := g.Pids(); len(pids) != 1 || pids[0] != cmd.Process.Pid {
		t.Errorf("group holds %v, want the wrapped process %d", pids, cmd.Process.Pid)
	}
	st, err := g.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Throttled == 0 {
		t.Errorf("cpu.stat %+v: never throttled", st)
	}
	// One second at 10 %: 100 ms, plus up to a period's quota of slack.
	if limited > 250*time.Millisecond {
		t.Errorf("quota-limited loop used %v of CPU in 1 s, want ≤ 250ms", limited)
	}
	// Control: the same loop outside the group passes the bound above.
	// Polled, not timed: on a loaded machine it may take a few seconds.
	_, free := busy(loop)
	var used time.Duration
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if used, _ = OnCPUTime(free.Process.Pid); used > 300*time.Millisecond {
			break
		}
	}
	t.Logf("CPU: %v in 1 s under a 10 %% quota; the control loop reached %v", limited, used)
	if used <= 300*time.Millisecond {
		t.Errorf("control: the loop outside the group used only %v in 20 s", used)
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	removed = true
	if _, err := os.Stat(g.Dir); !os.IsNotExist(err) {
		t.Errorf("group %s still exists after Remove: %v", g.Dir, err)
	}
}

func TestRemoveStaleCPUGroups(t *testing.T) {
	needCgroup(t)
	// A group named after a pid that cannot run (beyond pid_max's ceiling).
	stale := filepath.Join(CgroupCPURoot, cgroupPrefix+"99999999-test")
	live, err := NewCPUGroup("test-live-"+randHex(3), 50*time.Millisecond, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Remove() //nolint:errcheck // test cleanup
	if err := os.Mkdir(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(stale) //nolint:errcheck // test cleanup
	RemoveStaleCPUGroups()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale group not removed: %v", err)
	}
	if _, err := os.Stat(live.Dir); err != nil {
		t.Errorf("this run's group was removed: %v", err)
	}
}
