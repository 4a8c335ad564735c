package testsupport

import (
	"net"
	"testing"
)

// FreePort returns a loopback port that was free a moment ago, for a server
// whose address must be known before it starts (an OAuth redirect URI names
// its port).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
