package toolscript

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// fakePython3 imports every module (`-c "import M"`) unless
// $FAKE_NO_IMPORT names M, or the venv's marker says pip installed it;
// it logs its other calls; `-m venv DIR` fails as Debian's python3 without
// python3-venv does when $FAKE_VENV is "fail", else creates DIR with a fake
// pip.
const fakePython3 = `#!/usr/bin/env bash
if [[ $1 == -c ]]; then
	m=${2#import }
	[[ $m != "${FAKE_NO_IMPORT:-}" ]] || grep -qx "$m" "$FAKE_DIR/imports" 2>/dev/null
	exit
fi
echo "python3 $*" >>"$FAKE_DIR/calls"
if [[ $1 == -m && $2 == venv ]]; then
	if [[ ${FAKE_VENV:-} == fail ]]; then
		mkdir -p "$3/bin"
		echo "The virtual environment was not created successfully because ensurepip is not available." >&2
		exit 1
	fi
	mkdir -p "$3/bin"
	sed "s#@BIN@#$3/bin#" "$FAKE_DIR/pip.tmpl" >"$3/bin/pip"
	chmod +x "$3/bin/pip"
	exit 0
fi
exit 3
`

// fakePip logs its arguments and installs a stub per package.
const fakePip = `#!/usr/bin/env bash
echo "pip $*" >>"$FAKE_DIR/calls"
for p in "$@"; do
	case $p in
	"moto[server]") tool=moto_server; echo moto.server >>"$FAKE_DIR/imports" ;;
	awscli) tool=aws ;;
	cfn-lint) tool=cfn-lint; echo samtranslator >>"$FAKE_DIR/imports" ;;
	*) continue ;;
	esac
	printf '#!/bin/sh\nexit 0\n' >"@BIN@/$tool"
	chmod +x "@BIN@/$tool"
done
`

// fakeNPM logs its arguments and installs the package.json of
// `npm i --prefix DIR PKG@VERSION`.
const fakeNPM = `#!/usr/bin/env bash
echo "npm $*" >>"$FAKE_DIR/calls"
prefix=${@: -2:1}
spec=${@: -1}
pkg=${spec%@*}
mkdir -p "$prefix/node_modules/$pkg"
echo "{\"name\": \"$pkg\", \"version\": \"${spec##*@}\"}" >"$prefix/node_modules/$pkg/package.json"
`

// fakeAptGet logs its arguments and installs a chromium stub.
const fakeAptGet = `#!/usr/bin/env bash
echo "apt-get $*" >>"$FAKE_DIR/calls"
if [[ $1 == install ]]; then printf '#!/bin/sh\nexit 0\n' >"$FAKE_DIR/bin/chromium"; chmod +x "$FAKE_DIR/bin/chromium"; fi
`

// fakeGo answers go env and logs go install.
const fakeGo = `#!/usr/bin/env bash
case $1 in
env) [[ $2 == GOPATH ]] && echo "$FAKE_DIR/gopath"; exit 0 ;;
install) echo "go $*" >>"$FAKE_DIR/calls"; exit 0 ;;
esac
exit 3
`

// world is a scratch repository with scripts/tools.sh and fake tools.
type world struct {
	t    *testing.T
	root string // the scratch repository
	fake string // fake tools and the call log
	bin  string // on PATH before /usr/bin:/bin
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, root: t.TempDir(), fake: t.TempDir()}
	w.bin = filepath.Join(w.fake, "bin")
	src, err := os.ReadFile(filepath.Join(testsupport.RepoRoot(t), "scripts", "tools.sh"))
	if err != nil {
		t.Fatal(err)
	}
	w.write(filepath.Join(w.root, "scripts", "tools.sh"), string(src))
	w.write(filepath.Join(w.bin, "python3"), fakePython3)
	w.write(filepath.Join(w.bin, "npm"), fakeNPM)
	w.write(filepath.Join(w.bin, "go"), fakeGo)
	w.write(filepath.Join(w.bin, "apt-get"), fakeAptGet)
	w.write(filepath.Join(w.fake, "pip.tmpl"), fakePip)
	return w
}

func (w *world) write(file, body string) {
	w.t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(body), 0o755); err != nil {
		w.t.Fatal(err)
	}
}

// tool puts a stub named name on PATH: a tool the machine already has.
func (w *world) tool(name string) { w.write(filepath.Join(w.bin, name), "#!/bin/sh\nexit 0\n") }

// run runs tools.sh with groups; it returns stderr, the calls made since
// the last run and the exit error.
func (w *world) run(env []string, groups ...string) (string, []string, error) {
	w.t.Helper()
	calls := filepath.Join(w.fake, "calls")
	os.Remove(calls)
	cmd := exec.Command("bash", append([]string{filepath.Join(w.root, "scripts", "tools.sh")}, groups...)...)
	cmd.Env = append([]string{"PATH=" + w.bin + ":/usr/bin:/bin", "HOME=" + w.fake, "FAKE_DIR=" + w.fake}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	b, _ := os.ReadFile(calls)
	var lines []string
	if s := strings.TrimSpace(string(b)); s != "" {
		lines = strings.Split(s, "\n")
	}
	return stderr.String(), lines, err
}

// TestTools_Dev_InstallsOnlyWhatItRuns: make dev's group on a machine with
// nothing: moto and the aws CLI go into .tools/py through a virtual
// environment (the system python3 only creates it), and no test client,
// linter or emulator is fetched.
func TestTools_Dev_InstallsOnlyWhatItRuns(t *testing.T) {
	w := newWorld(t)
	stderr, calls, err := w.run(nil, "aws")
	if err != nil {
		t.Fatalf("tools.sh aws: %v\n%s", err, stderr)
	}
	want := []string{"python3 -m venv .tools/py", "pip install --disable-pip-version-check moto[server] awscli"}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	for _, tool := range []string{"moto_server", "aws"} {
		if _, err := os.Stat(filepath.Join(w.root, ".tools", "py", "bin", tool)); err != nil {
			t.Errorf("%s not in .tools/py/bin: %v", tool, err)
		}
	}
	// Present now: a second run makes no call.
	if stderr, calls, err := w.run(nil, "aws"); err != nil || len(calls) != 0 {
		t.Errorf("second run: %v, calls %q\n%s", err, calls, stderr)
	}
}

// TestTools_ToolWithoutItsModule_GoesIntoTheVenv: moto_server on PATH
// (pipx, say) that python3 cannot import would leave with-stack.sh running
// moto without its serialising wrapper: tools.sh installs moto into the
// virtual environment, whose python3 comes first on PATH.
func TestTools_ToolWithoutItsModule_GoesIntoTheVenv(t *testing.T) {
	w := newWorld(t)
	w.tool("moto_server")
	w.tool("aws")
	stderr, calls, err := w.run([]string{"FAKE_NO_IMPORT=moto.server"}, "aws")
	if err != nil {
		t.Fatalf("tools.sh aws: %v\n%s", err, stderr)
	}
	want := "python3 -m venv .tools/py\npip install --disable-pip-version-check moto[server]"
	if got := strings.Join(calls, "\n"); got != want {
		t.Errorf("calls:\n%s\nwant:\n%s", got, want)
	}
}

// TestTools_NoVenvModule_NamesThePackage: where python3 cannot create a
// virtual environment (Debian without python3-venv), tools.sh says which
// package to install, leaves no half-made environment, and never falls back
// to pip on the system interpreter.
func TestTools_NoVenvModule_NamesThePackage(t *testing.T) {
	w := newWorld(t)
	stderr, calls, err := w.run([]string{"FAKE_VENV=fail"}, "aws", "lint")
	if err == nil {
		t.Fatal("tools.sh succeeded without a venv module")
	}
	if !strings.Contains(stderr, "sudo apt-get install python3-venv") || !strings.Contains(stderr, "pipx install 'cfn-lint'") {
		t.Errorf("stderr does not name python3-venv and the pipx alternative:\n%s", stderr)
	}
	if strings.Join(calls, "\n") != "python3 -m venv .tools/py" {
		t.Errorf("calls %q, want only the venv attempt", calls)
	}
	if _, err := os.Stat(filepath.Join(w.root, ".tools", "py")); !os.IsNotExist(err) {
		t.Errorf(".tools/py left behind: %v", err)
	}
}

// TestTools_All_ClientsEachOnce: make tools (make test, CI) installs every
// pinned client once, each in its own .tools directory, the emulator and
// cfn-lint; run again, it fetches nothing.
func TestTools_All_ClientsEachOnce(t *testing.T) {
	w := newWorld(t)
	w.tool("moto_server")
	w.tool("aws")
	w.tool("chromium") // TestTools_Browser
	stderr, calls, err := w.run(nil)
	if err != nil {
		t.Fatalf("tools.sh: %v\n%s", err, stderr)
	}
	got := strings.Join(calls, "\n")
	for _, re := range []string{
		`(?m)^python3 -m venv \.tools/py$`,
		`(?m)^pip install --disable-pip-version-check cfn-lint$`,
		`(?m)^go install github\.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v\S+$`,
		`(?m)^npm i --no-audit --no-fund --prefix \.tools/codex @openai/codex@\d+\.\d+\.\d+$`,
		`(?m)^npm i --no-audit --no-fund --prefix \.tools/claude-code @anthropic-ai/claude-code@\d+\.\d+\.\d+$`,
		`(?m)^npm i --no-audit --no-fund --prefix \.tools/anthropic-sdk @anthropic-ai/sdk@\d+\.\d+\.\d+$`,
		`(?m)^npm i --no-audit --no-fund --prefix \.tools/openai openai@\d+\.\d+\.\d+$`,
	} {
		if !regexp.MustCompile(re).MatchString(got) {
			t.Errorf("no call matching %s in:\n%s", re, got)
		}
	}
	if n := len(calls); n != 7 {
		t.Errorf("%d calls, want 7:\n%s", n, got)
	}
	w.tool("aws-lambda-rie")
	if stderr, calls, err := w.run(nil); err != nil || len(calls) != 0 {
		t.Errorf("second make tools: %v, calls %q\n%s", err, calls, stderr)
	}
}

// TestTools_Browser: the browser group installs Debian's chromium when
// neither chromium nor chromium-browser is on PATH, and nothing when one is.
func TestTools_Browser(t *testing.T) {
	w := newWorld(t)
	if _, err := exec.LookPath("chromium"); err != nil {
		if _, err := exec.LookPath("chromium-browser"); err != nil {
			// The machine has none: the world's PATH (with /usr/bin) lacks it too.
			stderr, calls, err := w.run(nil, "browser")
			if err != nil || len(calls) != 1 || calls[0] != "apt-get install -y -q chromium" {
				t.Fatalf("browser group without chromium: %v, calls %q\n%s", err, calls, stderr)
			}
		}
	}
	w.tool("chromium")
	if stderr, calls, err := w.run(nil, "browser"); err != nil || len(calls) != 0 {
		t.Errorf("browser group with chromium: %v, calls %q\n%s", err, calls, stderr)
	}
}

// TestMakefile_ToolsPerTarget: make dev asks for the local stack's tools
// only, make test (and CI's make tools) for all of them.
func TestMakefile_ToolsPerTarget(t *testing.T) {
	root := testsupport.RepoRoot(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\ndev:\n\t@bash scripts/tools.sh aws\n",
		"\ntest: tools\n",
		"\ntools:\n\t@bash scripts/tools.sh\n",
		"$(CURDIR)/.tools/py/bin:",
	} {
		if !bytes.Contains(mk, []byte(want)) {
			t.Errorf("Makefile lacks %q", want)
		}
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ci, []byte("make tools </dev/null\nmake test </dev/null")) {
		t.Errorf(".ci/run no longer runs make tools then make test:\n%s", ci)
	}
}
