package openaisim

import (
	"net/http"
	"strings"
	"time"
)

// Fault is an injected failure. A request matches when its path starts with
// Path (and its method equals Method, if set; and its ChatGPT-Account-Id
// header equals Account, if set: a backend incident on one account); the
// first matching fault with requests left, and not past Until, applies. Effects, in order: Delay; then
//   - StreamCutAfterEvents > 0 (/responses): serve normally, abort the
//     connection after that many SSE events;
//   - AfterRefresh (/oauth/token): serve the request for real (the refresh
//     token rotates), then drop the connection (DropConnection) or answer
//     Status/Body instead of the tokens (default 502): "the server rotated
//     but the client never saw the answer";
//   - DropConnection: close the connection without a response;
//   - Status != 0: answer Status with Body (default an OpenAI-shaped
//     server_error) without touching state;
//   - otherwise (Delay only): serve normally after the delay.
//
// The delay does not watch the client: a request whose client timed out is
// still served afterwards, so a refresh can rotate although the client never
// saw the answer, exactly the case a retry after a timeout must survive.
type Fault struct {
	Path                 string        `json:"path"`
	Method               string        `json:"method,omitempty"`
	Status               int           `json:"status,omitempty"`
	Body                 string        `json:"body,omitempty"`
	Count                int           `json:"count,omitempty"` // requests to affect; 0 = until ClearFaults
	Delay                time.Duration `json:"delay,omitempty"` // JSON: nanoseconds; the control API also takes "delay_ms"
	DropConnection       bool          `json:"drop_connection,omitempty"`
	AfterRefresh         bool          `json:"after_refresh,omitempty"`
	StreamCutAfterEvents int           `json:"stream_cut_after_events,omitempty"`
	// Account limits the fault to backend requests for that ChatGPT account
	// (their ChatGPT-Account-Id header); token endpoint requests carry none.
	Account string `json:"account,omitempty"`
	// Until, when set, ends the fault at that wall-clock time (not the
	// simulator's clock, which Advance moves): an incident window that
	// closes by itself while other faults stay.
	Until time.Time `json:"until,omitzero"`
}

type faultState struct {
	Fault
	left int // remaining requests; <0 = unlimited
}

const defaultFaultBody = `{"error":{"message":"The server had an error while processing your request. (simulated)","type":"server_error","param":null,"code":null}}`

// InjectFault adds a fault; faults apply in the order they were injected.
func (s *Sim) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := f.Count
	if left <= 0 {
		left = -1
	}
	s.faults = append(s.faults, &faultState{Fault: f, left: left})
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the fault for r, consuming one of its requests.
func (s *Sim) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	live := s.faults[:0]
	for _, f := range s.faults {
		if f.Until.IsZero() || now.Before(f.Until) {
			live = append(live, f)
		}
	}
	clear(s.faults[len(live):]) // no pointers kept to faults that ended
	s.faults = live
	for i, f := range s.faults {
		if !strings.HasPrefix(r.URL.Path, f.Path) || (f.Method != "" && f.Method != r.Method) ||
			(f.Account != "" && r.Header.Get("ChatGPT-Account-Id") != f.Account) {
			continue
		}
		if f.left > 0 {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		s.stats.FaultsApplied++
		out := f.Fault
		return &out
	}
	return nil
}

func (s *Sim) applyFault(w http.ResponseWriter, r *http.Request, f *Fault, h handler) {
	// The delay ignores the client going away: like a real server, the
	// request is still acted on after the client timed out.
	time.Sleep(f.Delay)
	switch {
	case f.StreamCutAfterEvents > 0:
		h(w, r, f.StreamCutAfterEvents)
		return
	case f.AfterRefresh:
		h(&discardWriter{header: http.Header{}}, r, 0)
		if f.DropConnection {
			abort()
		}
	case f.DropConnection:
		abort()
	case f.Status == 0:
		h(w, r, 0)
		return
	}
	status, body := f.Status, f.Body
	if status == 0 {
		status = http.StatusBadGateway
	}
	if body == "" {
		body = defaultFaultBody
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write([]byte(body)) //nolint:errcheck // the client went away; nothing to do
}

// discardWriter swallows the real answer of an AfterRefresh fault.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
