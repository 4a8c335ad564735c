package docfiles

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/internal/testsupport"
)

// goFile matches a Go file name or path as prose writes it.
var goFile = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_]\.go\b`)

// named returns the Go files text names: a bare name, or a path
// (containing a slash) when paths is set. URLs, and the text of a link to
// another repository, are left out.
func named(text string, paths bool) []string {
	var out []string
	for _, loc := range goFile.FindAllStringIndex(text, -1) {
		name := text[loc[0]:loc[1]]
		if loc[0] > 0 && strings.ContainsRune(":/.", rune(text[loc[0]-1])) {
			continue // part of a URL or of a longer token
		}
		if after := strings.TrimPrefix(text[loc[1]:], "`"); strings.HasPrefix(after, "](http") {
			continue // a link's text: the file is in the linked repository
		}
		if strings.HasPrefix(name, "/") || strings.HasPrefix(name, ".") || strings.Contains(name, "/") != paths {
			continue
		}
		out = append(out, name)
	}
	return out
}

// TestDocGo_NamedFilesExist: a package comment that lists its files must
// name files that are there.
func TestDocGo_NamedFilesExist(t *testing.T) {
	root := testsupport.RepoRoot(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" || d.Name() == "build") {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "doc.go" {
			return nil
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		rel, _ := filepath.Rel(root, path)
		for _, name := range named(string(text), false) {
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				t.Errorf("%s names %s, which is not in its package", rel, name)
			}
		}
		for _, name := range named(string(text), true) {
			if _, err := os.Stat(filepath.Join(root, name)); err != nil {
				t.Errorf("%s names %s, which is not in the repository", rel, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDocs_NamedPathsExist: the documents' file paths lead somewhere.
func TestDocs_NamedPathsExist(t *testing.T) {
	root := testsupport.RepoRoot(t)
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range append(docs, filepath.Join(root, "README.md")) {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, doc)
		for _, name := range named(string(text), true) {
			if _, err := os.Stat(filepath.Join(root, name)); err != nil {
				t.Errorf("%s names %s, which is not in the repository", rel, name)
			}
		}
	}
}

func TestNamed_Cases(t *testing.T) {
	for _, tc := range []struct {
		text  string
		paths bool
		want  string
	}{
		{"body.go, jsonscan.go: the body", false, "body.go,jsonscan.go"},
		{"see shared/codex/doc.go and route.go", true, "shared/codex/doc.go"},
		{"https://github.com/a/b/blob/main/x/y.go", true, ""},
		{"functions/<name>/main.go, golang/go#40747, .go files", true, ""},
		{"[`sdk/auth/selector.go`](https://github.com/o/r/blob/main/sdk/auth/selector.go)", true, ""},
	} {
		if got := strings.Join(named(tc.text, tc.paths), ","); got != tc.want {
			t.Errorf("named(%q, %v) = %q, want %q", tc.text, tc.paths, got, tc.want)
		}
	}
}
