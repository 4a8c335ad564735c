package sse

import (
	"bytes"
	"encoding/json"
)

// Event is one parsed event: its name and its data lines joined.
type Event struct {
	Name string
	Data []byte
}

var (
	eventPrefix = []byte("event:")
	dataPrefix  = []byte("data:")
)

// cutLine splits b after its first line, returning the line without its
// line end ("\n" or "\r\n").
func cutLine(b []byte) (line, rest []byte) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line, rest = b[:i], b[i+1:]
	} else {
		line = b
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest
}

// fieldValue is a field's value as the spec reads it: without the one
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

// Parse parses one raw event. A missing "event:" field is taken from the
// data's JSON "type", which the Responses and Anthropic APIs set to the
// event's name.
func Parse(raw []byte) Event {
	var ev Event
	for rest := raw; len(rest) > 0; {
		var line []byte
		line, rest = cutLine(rest)
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.Name = string(value)
		case "data":
			if ev.Data != nil {
				ev.Data = append(ev.Data, '\n')
			}
			ev.Data = append(ev.Data, value...)
		}
	}
	if ev.Name == "" && len(ev.Data) > 0 {
		var t struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(ev.Data, &t) == nil {
			ev.Name = t.Type
		}
	}
	return ev
}

// Names interns event names for View.
type Names map[string]string

// NewNames interns names.
func NewNames(names ...string) Names {
	n := make(Names, len(names))
	for _, s := range names {
		n[s] = s
	}
	return n
}

// View is Parse without copies for the usual event of one "event:" line
// and one "data:" line: the data aliases raw (valid as long as raw is) and
// a name in n is not copied, so looking at an event costs no allocation.
// Any other event is parsed by Parse.
func (n Names) View(raw []byte) Event {
	var name, data []byte
	for rest := raw; len(rest) > 0; {
		var line []byte
		line, rest = cutLine(rest)
		switch {
		case len(line) == 0:
		case bytes.HasPrefix(line, eventPrefix):
			name = bytes.TrimPrefix(line[len(eventPrefix):], []byte(" "))
		case bytes.HasPrefix(line, dataPrefix):
			if data != nil {
				return Parse(raw) // several data lines: join them
			}
			data = bytes.TrimPrefix(line[len(dataPrefix):], []byte(" "))
		default:
			return Parse(raw) // id:, retry:, comments
		}
	}
	if name == nil {
		return Parse(raw) // the name comes from the data's "type"
	}
	s, ok := n[string(name)]
	if !ok {
		s = string(name)
	}
	return Event{Name: s, Data: data}
}

// Name returns the "event:" field of a raw event without copying it, or
// nil when it has none.
func Name(raw []byte) []byte {
	for rest := raw; len(rest) > 0; {
		var line []byte
		line, rest = cutLine(rest)
		if v, ok := bytes.CutPrefix(line, eventPrefix); ok {
			return fieldValue(v)
		}
	}
	return nil
}

// Append appends one event with a single-line data field to dst.
func Append(dst []byte, name string, data []byte) []byte {
	dst = append(dst, "event: "...)
	dst = append(dst, name...)
	dst = append(dst, "\ndata: "...)
	dst = append(dst, data...)
	return append(dst, "\n\n"...)
}
