package version

import (
	"os"
	"strings"
	"testing"
)

// TestRelease_MatchesVERSIONFile: the constant and the file the Makefile
// and template.yaml's SemanticVersion follow name the same release.
func TestRelease_MatchesVERSIONFile(t *testing.T) {
	b, err := os.ReadFile("../../VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != Release {
		t.Fatalf("VERSION = %q, Release = %q: change both", got, Release)
	}
	if !IsRelease(Release) {
		t.Fatalf("Release %q is not MAJOR.MINOR.PATCH", Release)
	}
}

func TestString(t *testing.T) {
	if got := String(); !strings.HasPrefix(got, Release+"-dev") {
		t.Errorf("String() without -X = %q, want %s-dev…", got, Release)
	}
	linked = "9.8.7"
	defer func() { linked = "" }()
	if got := String(); got != "9.8.7" {
		t.Errorf("String() with -X 9.8.7 = %q", got)
	}
}

func TestIsRelease(t *testing.T) {
	for s, want := range map[string]bool{
		"0.1.0": true, "1.22.333": true, "1.2": false, "1.2.3.4": false, "01.2.3": false,
		"1.2.3-rc1": false, "v1.2.3": false, "": false, "1..3": false,
	} {
		if got := IsRelease(s); got != want {
			t.Errorf("IsRelease(%q) = %v, want %v", s, got, want)
		}
	}
}
