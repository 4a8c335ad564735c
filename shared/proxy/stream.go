package proxy

import (
	"errors"
	"net/http"
	"sync"
	"time"
)

// defaultPingEvery is how long a stream with a ping (the Messages front)
// may stay silent before the ping is sent, as Anthropic's API does, so
// clients and idle timeouts between them and us do not give up while the
// model reasons.
const defaultPingEvery = 10 * time.Second

// streamWriter sends a streamed answer to the client: every write is
// flushed at once, so each event reaches the client as soon as the
// upstream sent it. It is where the proxy decides to flush: the relays of
// every front write through one, and the keep-alive of held answers
// (keepalive.go) flushes through flushTo. With a ping, a timer writes it
// whenever the stream was silent for the interval; writes are serialised
// with it.
type streamWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu        sync.Mutex
	lastWrite time.Time
	ping      []byte
	every     time.Duration
	pinger    *time.Timer // nil without a ping
	stopped   bool        // set under mu by stop: no more pings
}

// newStreamWriter returns a streamWriter of w, whose status line is
// written; ping, when set, is sent after every p.pingEvery of silence.
// Call stop before the handler returns.
func (p *Proxy) newStreamWriter(w http.ResponseWriter, ping []byte) *streamWriter {
	s := &streamWriter{w: w, rc: http.NewResponseController(w), lastWrite: time.Now(), ping: ping, every: p.pingEvery}
	if ping != nil {
		// A timer re-armed after each ping that checks the time of the
		// last write: cheaper per request than a goroutine and a ticker.
		s.pinger = time.AfterFunc(s.every, s.tick)
	}
	return s
}

// send writes b and flushes it.
func (s *streamWriter) send(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	if s.pinger != nil {
		s.lastWrite = time.Now()
	}
	return flushTo(s.rc)
}

func (s *streamWriter) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	now := time.Now()
	if idle := now.Sub(s.lastWrite); idle < s.every {
		s.pinger.Reset(s.every - idle)
		return
	}
	if _, err := s.w.Write(s.ping); err != nil || flushTo(s.rc) != nil {
		return // the client is gone: no more pings
	}
	s.lastWrite = now
	s.pinger.Reset(s.every)
}

// stop ends the pings: nothing writes to the client through s once stop
// returned.
func (s *streamWriter) stop() {
	if s.pinger == nil {
		return
	}
	s.mu.Lock()
	s.stopped = true
	s.pinger.Stop()
	s.mu.Unlock()
}

// flushTo flushes what was written to the client. A writer that cannot
// flush (a test recorder, a buffering middleware) is not an error.
func flushTo(rc *http.ResponseController) error {
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
