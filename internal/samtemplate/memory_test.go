package samtemplate

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/codexgate/codexgate/internal/bench"
	"github.com/codexgate/codexgate/internal/testsupport"
)

// The proxy's memory is a parameter whose default is the recorded decision
// (bench.ProxyMemory), which docs/BENCHMARKS.md section 6 names beside its
// own run's recommendation; the other functions keep the Globals size.
func TestTemplate_ProxyMemory_FromParameterAndBenchmarks(t *testing.T) {
	c := transformed(t)
	p := c.resource(t, "ProxyFunction", "AWS::Lambda::Function").Properties
	if got := str(p["MemorySize"]); got != "Ref:ProxyMemorySize" {
		t.Errorf("proxy MemorySize = %s, want Ref:ProxyMemorySize", got)
	}
	param := c.Parameters["ProxyMemorySize"]
	if param == nil {
		t.Fatal("no ProxyMemorySize parameter")
	}
	for k, want := range map[string]string{"Type": "Number", "MinValue": "128", "MaxValue": "10240"} {
		if got := str(param[k]); got != want {
			t.Errorf("ProxyMemorySize %s = %s, want %s", k, got, want)
		}
	}
	def := str(param["Default"])
	for _, id := range []string{"QuotaCronFunction", "RefreshFunction"} {
		if got := str(c.resource(t, id, "AWS::Lambda::Function").Properties["MemorySize"]); got != "256" {
			t.Errorf("%s MemorySize = %s, want the Globals' 256", id, got)
		}
	}
	// The template follows the recorded decision, not the latest run's
	// recommendation: one run's luck must not flip the default.
	if want := strconv.Itoa(bench.ProxyMemory.MemoryMB); def != want {
		t.Errorf("ProxyMemorySize default = %s MB, internal/bench/memorydecision.go records %s MB: update one of them", def, want)
	}
	// docs/BENCHMARKS.md names the same decision (it is written from the
	// record); its own run's recommendation may differ.
	doc, err := os.ReadFile(filepath.Join(testsupport.RepoRoot(t), "docs", "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(bench.DecidedLine) + `\*\*(\d+) MB\*\*`).FindSubmatch(doc)
	if m == nil {
		t.Skipf("docs/BENCHMARKS.md has no section 6 decision line yet (regenerate with `make bench`); template default %s MB", def)
	}
	if def != string(m[1]) {
		t.Errorf("ProxyMemorySize default = %s MB, docs/BENCHMARKS.md section 6 names the decision %s MB: regenerate it", def, m[1])
	}
}
