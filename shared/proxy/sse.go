package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/codexgate/codexgate/shared/wire/responses"
)

// sseReader splits an upstream SSE body at event boundaries (a blank line),
// so the proxy forwards whole events only: an event cut by a broken
// upstream never reaches the client half-written, and the first event can
// be inspected before the client sees anything.
type sseReader struct {
	src        io.Reader
	buf        []byte
	start, end int // buf[start:end] is read but not yet returned
	err        error
	// What the events handed out so far said, each event looked at once
	// as the reader splits it (see): whether a terminal event came, and
	// the usage of the final one (usage.go).
	terminal bool
	usage    *Usage
}

const (
	sseBufSize = 32 << 10
	// maxEventBytes bounds one event (response.completed carries the whole
	// answer, so it can be large).
	maxEventBytes = 32 << 20
)

var sseBufs = sync.Pool{New: func() any { b := make([]byte, sseBufSize); return &b }}

var errEventTooLarge = errors.New("upstream SSE event too large")

func newSSEReader(src io.Reader) *sseReader {
	return &sseReader{src: src, buf: *sseBufs.Get().(*[]byte)}
}

// release returns the buffer to the pool; the reader is unusable after.
func (s *sseReader) release() {
	if cap(s.buf) == sseBufSize {
		b := s.buf[:sseBufSize]
		sseBufs.Put(&b)
	}
	s.buf = nil
}

// next returns every complete event buffered (at least one), reading as
// needed. The slice is valid until the next call. At the end of the stream
// it returns io.EOF (a clean end on an event boundary) or the read error;
// an incomplete trailing event is dropped and reported as
// io.ErrUnexpectedEOF.
func (s *sseReader) next() ([]byte, error) {
	return s.read(true)
}

// nextEvent is next for exactly one event.
func (s *sseReader) nextEvent() ([]byte, error) {
	return s.read(false)
}

// read hands out the complete events buffered (all of them, or the first),
// splitting and looking at each once.
func (s *sseReader) read(all bool) ([]byte, error) {
	for {
		n := 0
		for {
			m, first := splitEvent(s.buf[s.start+n : s.end])
			if m < 0 {
				break
			}
			s.see(s.buf[s.start+n:s.start+n+m], first)
			n += m
			if !all {
				break
			}
		}
		if n > 0 {
			out := s.buf[s.start : s.start+n]
			s.start += n
			return out, nil
		}
		if s.err != nil {
			if s.err == io.EOF && len(bytes.TrimSpace(s.buf[s.start:s.end])) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, s.err
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads once more into the buffer, compacting or growing it first.
func (s *sseReader) fill() error {
	if s.start == s.end {
		// Everything read was handed out: read to the front again, into
		// memory the last events just warmed, rather than walking the
		// buffer's cold lines one event at a time.
		s.start, s.end = 0, 0
	}
	if s.end == len(s.buf) {
		pending := s.end - s.start
		switch {
		case s.start > 0:
			copy(s.buf, s.buf[s.start:s.end])
		case pending >= maxEventBytes:
			return errEventTooLarge
		default:
			grown := make([]byte, min(2*len(s.buf), maxEventBytes))
			copy(grown, s.buf[s.start:s.end])
			s.release()
			s.buf = grown
		}
		s.start, s.end = 0, pending
	}
	n, err := s.src.Read(s.buf[s.end:])
	s.end += n
	s.err = err
	return nil
}

// eventEnd returns the length of the first complete event in b (through
// its blank line), or -1.
func eventEnd(b []byte) int {
	n, _ := splitEvent(b)
	return n
}

// splitEvent returns the length of the first complete event in b (through
// its blank line), or -1, and the event's first line (without its line
// end), which is its "event:" field in every stream the backend sends: the
// reader learns the name from the same scan that finds the end.
func splitEvent(b []byte) (n int, first []byte) {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1, nil
		}
		if i == 0 {
			first = b[:j]
		}
		k := i + j + 1 // just after the line's \n
		switch {
		case k < len(b) && b[k] == '\n':
			return k + 1, first
		case k+1 < len(b) && b[k] == '\r' && b[k+1] == '\n':
			return k + 2, first
		}
		i = k
	}
	return -1, nil
}

// sseEvent is one parsed event: its name and its data lines joined.
type sseEvent struct {
	name string
	data []byte
}

// parseEvent parses one raw event. A missing "event:" field is taken from
// the data's JSON "type" (the Responses API repeats it there).
func parseEvent(raw []byte) sseEvent {
	var ev sseEvent
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.name = string(value)
		case "data":
			if ev.data != nil {
				ev.data = append(ev.data, '\n')
			}
			ev.data = append(ev.data, value...)
		}
	}
	if ev.name == "" && len(ev.data) > 0 {
		var t struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(ev.data, &t) == nil {
			ev.name = t.Type
		}
	}
	return ev
}

// viewEvent is parseEvent without copies for the usual event of one
// "event:" line and one "data:" line: the data aliases raw (valid until the
// next read) and the name is interned, so looking at an event (converting
// it for a front, reading the final usage, checking the first event for a
// failure) costs no allocation.
func viewEvent(raw []byte) sseEvent {
	var name, data []byte
	for rest := raw; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case len(line) == 0:
		case bytes.HasPrefix(line, []byte("event:")):
			name = bytes.TrimPrefix(line[len("event:"):], []byte(" "))
		case bytes.HasPrefix(line, []byte("data:")):
			if data != nil {
				return parseEvent(raw) // several data lines: join them
			}
			data = bytes.TrimPrefix(line[len("data:"):], []byte(" "))
		default:
			return parseEvent(raw) // id:, retry:, comments
		}
	}
	if name == nil {
		return parseEvent(raw) // the name comes from the data's "type"
	}
	n, ok := eventNames[string(name)]
	if !ok {
		n = string(name)
	}
	return sseEvent{name: n, data: data}
}

// eventNames interns the Responses event names.
var eventNames = func() map[string]string {
	m := map[string]string{}
	for _, n := range responses.EventNames {
		m[n] = n
	}
	return m
}()

// eventName returns just the "event:" field of a raw event, cheaply.
func eventName(raw []byte) string { return string(eventNameBytes(raw)) }

// eventNameBytes is eventName without the copy: the relay looks at every
// event's name, and a string per event was its only per-event allocation.
func eventNameBytes(raw []byte) []byte {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("event:")); ok {
			return fieldValue(v)
		}
	}
	return nil
}

// fieldValue is an SSE field's value as the spec reads it: without the one
// space that may follow the colon, and without a CRLF line's "\r" (a few
// compares, where trimming all space cost as much as finding the event).
func fieldValue(v []byte) []byte {
	if n := len(v); n > 0 && v[n-1] == '\r' {
		v = v[:n-1]
	}
	if len(v) > 0 && v[0] == ' ' {
		v = v[1:]
	}
	return v
}

// see looks at one event as the reader hands it out: only its name (from
// its first line, found by splitEvent), unless it is the final one.
func (s *sseReader) see(ev, first []byte) {
	var name []byte
	if len(first) >= len("event:") && string(first[:len("event:")]) == "event:" {
		name = fieldValue(first[len("event:"):])
	} else {
		name = eventNameBytes(ev)
	}
	if len(name) == 0 {
		// No "event:" line: the name is the data's "type", parsed only
		// when it can be a Responses event at all.
		if !bytes.Contains(ev, []byte(`"type"`)) {
			return
		}
		name = []byte(parseEvent(ev).name)
	}
	if !responses.IsTerminal(name) {
		return
	}
	s.terminal = true
	if responses.IsFinal(name) {
		if u, ok := parseUsage(viewEvent(ev).data); ok { // not copied: the data holds the whole answer
			s.usage = &u
		}
	}
}

// streamFailure reports whether a (first) event is an account-level
// failure the proxy can still fail over from, and the error in it.
func streamFailure(ev sseEvent) (upstreamError, bool) {
	if ev.name != "error" && ev.name != "response.failed" {
		return upstreamError{}, false
	}
	e := parseUpstreamError(ev.data)
	switch e.kind() {
	case codeUsageLimit, codeRateLimit:
		return e, true
	}
	return e, false
}
