package testsupport_test

import (
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
)

func TestUniqueName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9-]{3,64}$`)
	tests := []struct{ prefix, wantStart string }{
		{"codexgate", "codexgate-TestUniqueName-"},
		{"", "TestUniqueName-"},
		{"a b/c", "a-b-c-TestUniqueName-"},
		{strings.Repeat("x", 100), "xxxx"},
	}
	for _, tt := range tests {
		a, b := testsupport.UniqueName(t, tt.prefix), testsupport.UniqueName(t, tt.prefix)
		if a == b {
			t.Errorf("UniqueName(%q) twice = %q both times", tt.prefix, a)
		}
		if !valid.MatchString(a) || !strings.HasPrefix(a, tt.wantStart) {
			t.Errorf("UniqueName(%q) = %q, want %s… matching %s", tt.prefix, a, tt.wantStart, valid)
		}
	}
}

// fakeTB records how RequireStack ends a test instead of ending this one.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skip(...any)           { f.skipped = true; runtime.Goexit() }
func (f *fakeTB) Fatal(...any)          { f.failed = true; runtime.Goexit() }
func (f *fakeTB) Skipf(string, ...any)  { f.Skip() }
func (f *fakeTB) Fatalf(string, ...any) { f.Fatal() }

func TestRequireStack_NoEmulator(t *testing.T) {
	tests := []struct {
		ci                    string
		wantSkipped, wantFail bool
	}{
		{ci: "", wantSkipped: true},
		{ci: "false", wantSkipped: true},
		{ci: "true", wantFail: true},
	}
	for _, tt := range tests {
		t.Run("CI="+tt.ci, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL", "")
			t.Setenv("CI", tt.ci)
			f := &fakeTB{TB: t}
			var wg sync.WaitGroup
			wg.Go(func() { testsupport.RequireStack(f) })
			wg.Wait()
			if f.skipped != tt.wantSkipped || f.failed != tt.wantFail {
				t.Errorf("skipped=%v failed=%v, want skipped=%v failed=%v", f.skipped, f.failed, tt.wantSkipped, tt.wantFail)
			}
		})
	}
}
