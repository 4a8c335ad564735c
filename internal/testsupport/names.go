package testsupport

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"
)

// maxNameLen keeps names valid everywhere they are used: DynamoDB table
// names allow 255 characters, secret names 512, but short names read better
// in logs.
const maxNameLen = 64

// UniqueName returns prefix-<test name>-<random hex>, made of characters
// valid in both DynamoDB table names and secret names ([A-Za-z0-9-]), so
// tests running in parallel, or again on a stack that kept state, never
// share a resource.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	suffix := "-" + randomHex(t, 4)
	name := sanitize(prefix)
	if testName := sanitize(t.Name()); testName != "" {
		if name != "" {
			name += "-"
		}
		name += testName
	}
	if len(name) > maxNameLen-len(suffix) {
		name = name[:maxNameLen-len(suffix)]
	}
	return strings.TrimRight(name, "-") + suffix
}

// sanitize maps every run of characters outside [A-Za-z0-9] to one '-'.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		t.Fatalf("random name: %v", err)
	}
	return hex.EncodeToString(buf)
}
