package awsfault

import (
	"net/http"
	"sync"
)

// Serial is an http.RoundTripper that lets one call at a time through to
// Base (nil: http.DefaultTransport).
//
// Use it for concurrency tests against moto: moto serves requests on
// threads and applies a DynamoDB conditional write as an unlocked
// read-check-write, so two concurrent conditional UpdateItems on one item
// can both pass (observed: two lease holders at once). DynamoDB itself
// makes every single-item write atomic; Serial restores that model while
// the callers still interleave call by call.
type Serial struct {
	Base http.RoundTripper
	mu   sync.Mutex
}

// RoundTrip implements http.RoundTripper. The lock is held until the
// response headers arrive: by then the emulator has applied the call.
func (s *Serial) RoundTrip(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}
