package proxy

import (
	"net/http"
	"sync"
	"time"
)

// A non-streaming answer is sent only once the upstream's stream is
// complete, which for a long Codex turn takes minutes. API Gateway closes
// a streaming integration that sends nothing for 5 minutes, and clients
// give up on a request whose headers never come. So when the answer is not
// complete after hold.after, the proxy sends 200 and the headers itself
// and then one whitespace byte every hold.every: JSON allows whitespace
// before a document, so the body stays valid JSON for every client.
//
// The price: once the status is sent, a failure can no longer change it,
// and arrives as an OpenAI error document in a 200 body. Answers quicker
// than hold.after (nearly all) keep their real status and Content-Length.

// holdTiming is when a held answer starts its keep-alive and how often it
// repeats.
type holdTiming struct{ after, every time.Duration }

// defaultHold commits well before any idle limit (API Gateway: 5 minutes)
// and keeps the connection busy far more often than that.
var defaultHold = holdTiming{after: 10 * time.Second, every: 30 * time.Second}

// keepAliveByte is what an early-committed answer sends while it waits.
var keepAliveByte = []byte("\n")

// heldWriter is an http.ResponseWriter for a JSON answer that may take
// minutes. The handler writes its answer as usual; until it does, a
// goroutine keeps the client's connection alive. All writes to the
// underlying writer happen under mu.
type heldWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	header   http.Header // the handler's, copied out when it writes its status
	upstream http.Header // sent with an early commit

	mu       sync.Mutex
	answered bool // the handler has written its status: no more keep-alive bytes
	early    bool // 200 and the headers went out before the answer
	quit     chan struct{}
	exited   chan struct{}
	stopOnce sync.Once
}

var _ http.ResponseWriter = (*heldWriter)(nil)

// holdOpen starts keeping w alive for a non-streaming answer; upstream is
// the upstream response's header (quota headers the client should get
// even from an early commit). Call stop before the handler returns.
func (p *Proxy) holdOpen(w http.ResponseWriter, upstream http.Header) *heldWriter {
	h := &heldWriter{w: w, rc: http.NewResponseController(w), header: http.Header{}, upstream: upstream,
		quit: make(chan struct{}), exited: make(chan struct{})}
	go h.keepAlive(p.hold)
	return h
}

func (h *heldWriter) keepAlive(t holdTiming) {
	defer close(h.exited)
	timer := time.NewTimer(t.after)
	defer timer.Stop()
	for {
		select {
		case <-h.quit:
			return
		case <-timer.C:
		}
		if !h.tick() {
			return
		}
		timer.Reset(t.every)
	}
}

// tick commits the answer early if it has not been, and writes one
// keep-alive byte. It reports whether to go on.
func (h *heldWriter) tick() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.answered {
		return false
	}
	if !h.early {
		h.early = true
		hdr := h.w.Header()
		copyResponseHeader(hdr, h.upstream)
		hdr.Set("Content-Type", "application/json")
		hdr.Del("Content-Length")
		h.w.WriteHeader(http.StatusOK)
	}
	if _, err := h.w.Write(keepAliveByte); err != nil {
		return false // the client went away; the handler's write will say so
	}
	if err := flushTo(h.rc); err != nil {
		return false
	}
	return true
}

// Header is the handler's header; it reaches the client only if the
// answer was not committed early.
func (h *heldWriter) Header() http.Header { return h.header }

// WriteHeader sends the handler's status and header, or, after an early
// commit, drops them: the client already has 200.
func (h *heldWriter) WriteHeader(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writeHeaderLocked(code)
}

func (h *heldWriter) writeHeaderLocked(code int) {
	if h.answered {
		return
	}
	h.answered = true
	if h.early {
		return
	}
	dst := h.w.Header()
	for k, v := range h.header {
		dst[k] = v
	}
	h.w.WriteHeader(code)
}

func (h *heldWriter) Write(b []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writeHeaderLocked(http.StatusOK)
	return h.w.Write(b)
}

// status is the status the client got: 200 after an early commit, else
// the handler's.
func (h *heldWriter) status(handler int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.early {
		return http.StatusOK
	}
	return handler
}

// stop ends the keep-alive and waits for its goroutine: nothing writes to
// the underlying writer once stop returns.
func (h *heldWriter) stop() {
	h.stopOnce.Do(func() { close(h.quit) })
	<-h.exited
}
