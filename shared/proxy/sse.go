package proxy

import (
	"bytes"
	"io"

	"github.com/codexgate/codexgate/shared/metering"
	"github.com/codexgate/codexgate/shared/sse"
	"github.com/codexgate/codexgate/shared/wire/responses"
)

// sseReader reads an upstream Responses stream through an sse.Reader and
// keeps what the events handed out so far said, each event looked at once
// as the reader splits it: whether a terminal event came (a stream without
// one was cut), and the final event's usage (usage.go). Every relay, for
// every front, reads through it, so usage is caught whatever the front.
type sseReader struct {
	r        sse.Reader
	terminal bool
	usage    *metering.Usage
}

func newSSEReader(src io.Reader) *sseReader {
	s := new(sseReader)
	s.r.Reset(src, s)
	return s
}

func (s *sseReader) next() ([]byte, error)      { return s.r.Next() }
func (s *sseReader) nextEvent() ([]byte, error) { return s.r.NextEvent() }
func (s *sseReader) release()                   { s.r.Release() }

// SeeEvent looks at one event as the reader hands it out: only its name,
// unless it is the final one.
func (s *sseReader) SeeEvent(name, ev []byte) {
	if len(name) == 0 {
		// No "event:" line: the name is the data's "type", parsed only
		// when it can be a Responses event at all.
		if !bytes.Contains(ev, []byte(`"type"`)) {
			return
		}
		name = []byte(sse.Parse(ev).Name)
	}
	if !responses.IsTerminal(name) {
		return
	}
	s.terminal = true
	if responses.IsFinal(name) {
		if u, ok := parseUsage(viewEvent(ev).Data); ok { // not copied: the data holds the whole answer
			s.usage = &u
		}
	}
}

// responseNames interns the Responses event names, so viewing an event
// allocates nothing.
var responseNames = sse.NewNames(responses.EventNames...)

// viewEvent parses one raw upstream event without copies (sse.Names.View):
// its data aliases raw.
func viewEvent(raw []byte) sse.Event { return responseNames.View(raw) }

// streamFailure reports whether a (first) event is an account-level
// failure the proxy can still fail over from, and the error in it.
func streamFailure(ev sse.Event) (upstreamError, bool) {
	if ev.Name != responses.EventError && ev.Name != responses.EventFailed {
		return upstreamError{}, false
	}
	e := parseUpstreamError(ev.Data)
	switch e.kind() {
	case codeUsageLimit, codeRateLimit:
		return e, true
	}
	return e, false
}
