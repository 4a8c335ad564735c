package sse

import (
	"bytes"
	"errors"
	"io"
	"sync"
)

// Reader splits an SSE body at event boundaries (a blank line), so a
// caller handles whole events only: an event cut by a broken upstream
// never reaches a client half-written, and the first event can be
// inspected before a client sees anything. A Reader is not safe for
// concurrent use.
type Reader struct {
	src        io.Reader
	buf        []byte
	start, end int // buf[start:end] is read but not yet returned
	err        error
	watch      Watcher
}

// Watcher is told of every event a Reader hands out, as it splits them: a
// caller that must look at each event (for the one that ends a stream, or
// its usage) does so without splitting the events again.
type Watcher interface {
	// SeeEvent gets one raw event (through its blank line) and its
	// "event:" field (nil when it has none). Both are valid only during
	// the call.
	SeeEvent(name, event []byte)
}

const (
	// BufferSize is the size of a Reader's first buffer, taken from a pool.
	BufferSize = 32 << 10
	// MaxEventBytes bounds one event (a Responses stream's
	// response.completed carries the whole answer, so it can be large).
	MaxEventBytes = 32 << 20
)

var bufs = sync.Pool{New: func() any { b := make([]byte, BufferSize); return &b }}

// ErrEventTooLarge is returned for an event over MaxEventBytes.
var ErrEventTooLarge = errors.New("sse: event too large")

// NewReader returns a Reader of src; watch, when not nil, sees every event
// handed out. Call Release when done.
func NewReader(src io.Reader, watch Watcher) *Reader {
	r := new(Reader)
	r.Reset(src, watch)
	return r
}

// Reset makes r a new Reader of src, as NewReader does, for a Reader held
// by value in a larger struct (one allocation per stream, not two).
func (r *Reader) Reset(src io.Reader, watch Watcher) {
	buf := r.buf
	if buf == nil {
		buf = *bufs.Get().(*[]byte)
	}
	*r = Reader{src: src, buf: buf, watch: watch}
}

// Release returns the buffer to the pool; the Reader is unusable after.
func (r *Reader) Release() {
	if cap(r.buf) == BufferSize {
		b := r.buf[:BufferSize]
		bufs.Put(&b)
	}
	r.buf = nil
}

// Next returns every complete event buffered (at least one), reading as
// needed. The slice is valid until the next call. At the end of the stream
// it returns io.EOF (a clean end on an event boundary) or the read error;
// an incomplete trailing event is dropped and reported as
// io.ErrUnexpectedEOF.
func (r *Reader) Next() ([]byte, error) {
	return r.read(true)
}

// NextEvent is Next for exactly one event.
func (r *Reader) NextEvent() ([]byte, error) {
	return r.read(false)
}

// read hands out the complete events buffered (all of them, or the first),
// splitting each once and showing it to the watcher.
func (r *Reader) read(all bool) ([]byte, error) {
	for {
		n := 0
		for {
			m, first := split(r.buf[r.start+n : r.end])
			if m < 0 {
				break
			}
			if r.watch != nil {
				// The name from the first line, where every Responses and
				// Anthropic stream writes it, in line: this runs per event.
				ev := r.buf[r.start+n : r.start+n+m]
				var name []byte
				if len(first) >= len("event:") && string(first[:len("event:")]) == "event:" {
					name = fieldValue(first[len("event:"):])
				} else {
					name = Name(ev)
				}
				r.watch.SeeEvent(name, ev)
			}
			n += m
			if !all {
				break
			}
		}
		if n > 0 {
			out := r.buf[r.start : r.start+n]
			r.start += n
			return out, nil
		}
		if r.err != nil {
			if r.err == io.EOF && len(bytes.TrimSpace(r.buf[r.start:r.end])) > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, r.err
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads once more into the buffer, compacting or growing it first.
func (r *Reader) fill() error {
	if r.start == r.end {
		// Everything read was handed out: read to the front again, into
		// memory the last events just warmed, rather than walking the
		// buffer's cold lines one event at a time.
		r.start, r.end = 0, 0
	}
	if r.end == len(r.buf) {
		pending := r.end - r.start
		switch {
		case r.start > 0:
			copy(r.buf, r.buf[r.start:r.end])
		case pending >= MaxEventBytes:
			return ErrEventTooLarge
		default:
			grown := make([]byte, min(2*len(r.buf), MaxEventBytes))
			copy(grown, r.buf[r.start:r.end])
			r.Release()
			r.buf = grown
		}
		r.start, r.end = 0, pending
	}
	n, err := r.src.Read(r.buf[r.end:])
	r.end += n
	r.err = err
	return nil
}

// Len returns the length of the first complete event in b (through its
// blank line), or -1 when b holds none.
func Len(b []byte) int {
	n, _ := split(b)
	return n
}

// split returns the length of the first complete event in b (through its
// blank line), or -1, and the event's first line (without its line end):
// the reader learns an "event:" field written first, as every Responses
// and Anthropic stream writes it, from the same scan that finds the end.
func split(b []byte) (n int, first []byte) {
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
