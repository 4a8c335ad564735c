package main

import (
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/version"
)

// TestCLI_Version: a plain build says <Release>-dev (and its commit when the
// build information has one); --version is the same command; a build with
// the -X flag make build and make release pass says exactly that version.
// Needs no AWS.
func TestCLI_Version(t *testing.T) {
	env := append(cliEnv(nil), "AWS_REGION=", "AWS_CONFIG_FILE=/dev/null")
	want := regexp.MustCompile(`^codexgate ` + regexp.QuoteMeta(version.Release) + `-dev(\+[0-9a-f]{12}(\.dirty)?)? \(` +
		regexp.QuoteMeta(runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH) + `\)\n$`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(t, env, "", args...)
		if r.code != 0 || r.stderr != "" || !want.MatchString(r.stdout) {
			t.Errorf("codexgate %s: %s; want stdout matching %s", args[0], r, want)
		}
	}
	mustFail(t, runCLI(t, env, "", "version", "extra"), 2, `unexpected argument "extra"`)
	if r := runCLI(t, env, "", "help"); !strings.Contains(r.stdout, "\tversion ") {
		t.Errorf("help does not list version: %s", r.stdout)
	}

	linked, err := testsupport.GoBuild(t, "./cmd/codexgate",
		"-ldflags", "-X github.com/codexgate/codexgate/shared/version.linked=7.8.9")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(linked, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "codexgate 7.8.9 (") {
		t.Fatalf("codexgate version built with -X 7.8.9: %q, %v", out, err)
	}
}
