package testsupport

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot returns the repository root (the directory holding go.mod),
// found by walking up from the test's working directory. Tests use it to
// reach scripts, localstack/ and template.yaml.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// GoBuild builds pkg, a package path relative to the repository root (e.g.
// "./cmd/codexgate"), with the extra go build flags, into t's temporary
// directory, and returns the binary's path. The error carries go build's
// output, for callers that report a failed build rather than stop.
func GoBuild(t testing.TB, pkg string, flags ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	build := exec.Command("go", append(append([]string{"build", "-o", bin}, flags...), pkg)...)
	build.Dir = RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// WriteRepoFile writes data to path, relative to the repository root unless
// it is absolute (a generated document, a screenshot), and logs where; a
// failed write fails the test but lets it go on.
func WriteRepoFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if !filepath.IsAbs(path) {
		path = filepath.Join(RepoRoot(t), path)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Error(err)
		return
	}
	t.Logf("wrote %s", path)
}

// Functions lists the Lambda functions: one directory each under
// root/functions (as the Makefile builds them), sorted.
func Functions(root string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	var fns []string
	for _, e := range entries {
		if e.IsDir() {
			fns = append(fns, e.Name())
		}
	}
	return fns, nil
}
