package samtemplate

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/version"
)

// samGOFLAGS is what docs/DEPLOY.md tells a user to export for `sam build`
// (with CGO_ENABLED=0): SAM's go1.x builder runs a plain
// `go build -o <artifacts>/bootstrap <CodeUri>` with GOOS/GOARCH from the
// function's architecture and the caller's environment, so these flags make
// its bootstrap the one `make build` produces. The shell expands $(cat
// VERSION) (see samGOFLAGSFor).
const samGOFLAGS = `-tags=lambda.norpc -trimpath '-ldflags=-s -w ` + linkVersion + `$(cat VERSION)'`

// linkVersion is the -X flag that names the release in every binary.
const linkVersion = "-X github.com/codexgate/codexgate/shared/version.linked="

// samGOFLAGSFor is samGOFLAGS as the shell passes it for release v.
func samGOFLAGSFor(v string) string { return strings.Replace(samGOFLAGS, "$(cat VERSION)", v, 1) }

// makeFlags are `make build`'s go build flags for release v (see the
// Makefile's build recipe and LDFLAGS, which this test also reads).
func makeFlags(v string) []string {
	return []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w " + linkVersion + v}
}

var goarch = map[string]string{"arm64": "arm64", "x86_64": "amd64"}

// TestCodeURI_Build_MatchesMakeBootstrap builds every function twice: the
// way SAM's go1.x builder does (working directory = CodeUri, which has no
// go.mod of its own: go finds the module's above it) and the way `make build`
// does (from the repository root), and requires identical static linux
// binaries. VCS stamping is off in both: Go stamps it or not depending on
// the working directory, the only difference between the two.
func TestCodeURI_Build_MatchesMakeBootstrap(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping cross-compiling the three functions")
	}
	c := transformed(t)
	root := testsupport.RepoRoot(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not on PATH: %v", err)
	}
	checkMakefile(t, root)
	checkDeployDoc(t, root)

	tmp := t.TempDir()
	for _, f := range functions {
		t.Run(f.name, func(t *testing.T) {
			fn := c.resource(t, f.id, "AWS::Lambda::Function")
			codeURI := str(path(fn.Properties, "Code", "S3Key")) // transform.py keeps CodeUri as the key
			if want := "functions/" + f.name + "/"; codeURI != want {
				t.Fatalf("CodeUri = %s, want %s (make build's ./functions/%s)", codeURI, want, f.name)
			}
			if got := str(fn.Metadata["BuildMethod"]); got != "go1.x" {
				t.Errorf("Metadata.BuildMethod = %s, want go1.x (sam build without containers)", got)
			}
			if got := str(fn.Properties["Handler"]); got != "bootstrap" {
				t.Errorf("Handler = %s, want bootstrap", got)
			}
			dir := filepath.Join(root, filepath.FromSlash(codeURI))
			if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
				t.Fatalf("CodeUri has no main.go: %v", err)
			}
			archs := strs(fn.Properties["Architectures"])
			if len(archs) != 1 || goarch[archs[0]] == "" {
				t.Fatalf("Architectures = %v", archs)
			}
			env := append(os.Environ(), "GOOS=linux", "GOARCH="+goarch[archs[0]], "CGO_ENABLED=0")

			sam := filepath.Join(tmp, "sam", f.name, "bootstrap")
			build(t, dir, append(env, "GOFLAGS="+samGOFLAGSFor(version.Release)+" -buildvcs=false"), goBin, "build", "-o", sam, dir)

			mk := filepath.Join(tmp, "make", f.name, "bootstrap")
			args := append(append([]string{"build"}, makeFlags(version.Release)...), "-buildvcs=false", "-o", mk, "./functions/"+f.name)
			build(t, root, append(env, "GOFLAGS="), goBin, args...)

			a, err := os.ReadFile(sam)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(mk)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("sam-style bootstrap (%d bytes) differs from make-style (%d bytes)", len(a), len(b))
			}
			checkELF(t, sam, archs[0])
		})
	}
}

func build(t *testing.T, dir string, env []string, goBin string, args ...string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(goBin, args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("(cd %s && go %s): %v\n%s", dir, strings.Join(args, " "), err, out)
	}
	t.Logf("go %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
}

// checkELF requires a static linux executable for arch: what provided.al2023
// runs as /var/task/bootstrap.
func checkELF(t *testing.T, file, arch string) {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF file: %v", err)
	}
	defer f.Close()
	want := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "x86_64": elf.EM_X86_64}[arch]
	if f.Machine != want || f.Type != elf.ET_EXEC {
		t.Errorf("bootstrap: %v %v, want an %v executable", f.Type, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("bootstrap is dynamically linked (CGO_ENABLED=0 missing?)")
		}
	}
}

// checkMakefile ties the template to `make build`: the same functions (one
// per directory under functions/, which the Makefile builds), built with the
// flags this test uses.
func checkMakefile(t *testing.T, root string) {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(mk, []byte("FUNCTIONS := $(notdir $(wildcard functions/*))")) {
		t.Error("Makefile: FUNCTIONS is not the list of directories under functions/")
	}
	dirs, err := testsupport.Functions(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range functions {
		names = append(names, f.name)
	}
	if !slices.Equal(dirs, slices.Sorted(slices.Values(names))) {
		t.Errorf("functions/ holds %v, template functions = %v", dirs, names)
	}
	for _, flag := range []string{"CGO_ENABLED=0", "-tags lambda.norpc", "-trimpath", "-ldflags='$(LDFLAGS)'", "-o build/$$fn/bootstrap",
		"VERSION   := $(shell cat VERSION)", "LDFLAGS   := -s -w " + linkVersion + "$(VERSION)"} {
		if !bytes.Contains(mk, []byte(flag)) {
			t.Errorf("Makefile build recipe lacks %q: update makeFlags/samGOFLAGS here and docs/DEPLOY.md", flag)
		}
	}
}

// checkDeployDoc keeps docs/DEPLOY.md's sam build command in step with the
// flags tested here.
func checkDeployDoc(t *testing.T, root string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(root, "docs", "DEPLOY.md"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `CGO_ENABLED=0 GOFLAGS="` + samGOFLAGS + `" sam build`; !bytes.Contains(doc, []byte(want)) {
		t.Errorf("docs/DEPLOY.md does not show %s", want)
	}
}
