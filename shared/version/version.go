// Package version names the codexgate release a binary was built from. The
// CLI prints it (`codexgate version`) and each Lambda function logs it at
// cold start.
package version

import (
	"runtime/debug"
	"strings"
)

// Release is the release this source tree is: the VERSION file at the
// repository root, which a test keeps equal to it.
const Release = "0.1.0"

// linked is the version set at link time by make build and make release:
//
//	-ldflags "-X github.com/codexgate/codexgate/shared/version.linked=0.1.0"
var linked string

// String returns the version set at link time; without one (go build, go
// run, go test), Release + "-dev", followed by the commit the build
// information names (+<12 hex digits>, ".dirty" for a modified tree).
func String() string {
	if linked != "" {
		return linked
	}
	v := Release + "-dev"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	var rev string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	v += "+" + rev[:min(12, len(rev))]
	if modified {
		v += ".dirty"
	}
	return v
}

// IsRelease reports whether s is a release version as VERSION holds one:
// MAJOR.MINOR.PATCH, digits only, no leading zeros.
func IsRelease(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || (len(p) > 1 && p[0] == '0') || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
