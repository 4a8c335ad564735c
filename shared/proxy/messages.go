package proxy

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/codexgate/codexgate/shared/sse"
	"github.com/codexgate/codexgate/shared/wire/messages"
	"github.com/codexgate/codexgate/shared/wire/responses"
)

// The Anthropic Messages front. It wraps the same request path as
// /v1/responses — key check, pool, 401 refresh and replay, failover,
// cooldowns — and translates at its two edges only: the client's body
// becomes a Responses body before forward, and everything forward writes
// (Responses events, or an error in OpenAI's shape) passes through a
// messagesWriter that answers in Anthropic's shapes.

// Paths of the Messages front (Claude Code adds ?beta=true; the query is
// ignored).
const (
	pathMessages    = "/v1/messages"
	pathCountTokens = "/v1/messages/count_tokens"
)

// messagesRoute is the upstream side of POST /v1/messages: the Codex
// backend's /responses stream.
var messagesRoute = &route{path: pathMessages, method: http.MethodPost, upstream: "/responses", accept: "text/event-stream", responses: true, hasBody: true}

// messagesPingInterval is how long a Messages stream may stay silent before
// a ping event is sent, as Anthropic's API does, so clients and idle
// timeouts between them and us do not give up while the model reasons.
var messagesPingInterval = 10 * time.Second

// serveMessages serves the Messages front's paths and reports whether the
// path was one of them.
func (p *Proxy) serveMessages(w http.ResponseWriter, r *http.Request, lg *reqLog) bool {
	path := r.URL.Path
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	if path != pathMessages && path != pathCountTokens {
		return false
	}
	mw := &messagesWriter{w: w, h: http.Header{}}
	defer func() { lg.status = mw.finish(lg) }()
	name, err := p.authenticate(r)
	if err != nil {
		lg.err = err
		p.writeError(mw, err)
		return true
	}
	lg.key = name
	if r.Method != http.MethodPost {
		mw.h.Set("Allow", http.MethodPost)
		p.writeError(mw, errMethod)
		return true
	}
	raw, err := readBody(r, p.cfg.MaxBodyBytes)
	if err != nil {
		lg.err = err
		p.writeError(mw, err)
		return true
	}
	translate := messages.TranslateRequest
	if path == pathCountTokens {
		translate = messages.TranslateCountRequest
	}
	tr, err := translate(raw, p.cfg.ClaudeModels)
	if err != nil {
		lg.err = err
		mw.anthropicError(err)
		return true
	}
	if path == pathCountTokens {
		mw.countTokens(messages.CountTokens(tr))
		return true
	}
	in := &inbound{rt: messagesRoute, header: http.Header{}, stream: true, body: tr.Body, session: tr.CacheKey}
	if tr.CacheKey != "" {
		in.header["Session_id"] = []string{tr.CacheKey}
	}
	mw.conv = messages.NewConverter(tr)
	mw.stream = tr.Stream
	p.forward(mw, r, in, lg)
	return true
}

// errAnswerDone stops the relay once the Anthropic answer is complete
// before the upstream stream is (a stop sequence matched): the rest is not
// needed, and closing the upstream stops its generation.
var errAnswerDone = errors.New("messages: answer complete")

// messagesWriter is the http.ResponseWriter forward and relay write to on
// the Messages front. The Responses events it receives are translated and
// written to the client as they arrive (or gathered into one message); an
// OpenAI-shaped error is held and rewritten in Anthropic's shape by finish.
type messagesWriter struct {
	w      http.ResponseWriter
	h      http.Header // what the core sets; the client gets a chosen part
	conv   *messages.Converter
	stream bool

	status    int    // the core's status; 0 until WriteHeader
	events    bool   // the core's answer is a 200 event stream
	body      []byte // the core's non-event body (an error document)
	pending   []byte // an incomplete event (the relay writes whole ones)
	out       []byte // scratch for translated events
	committed bool   // the client's status line is written

	mu          sync.Mutex // serialises client writes with the pinger
	lastWrite   time.Time
	pinger      *time.Timer
	pingStopped bool // set under mu: no ping writes after finish began
}

func (m *messagesWriter) Header() http.Header { return m.h }

func (m *messagesWriter) WriteHeader(code int) {
	if m.status != 0 {
		return
	}
	m.status = code
	m.events = code == http.StatusOK && isEventStream(m.h) && m.conv != nil
	if m.events && m.stream {
		m.mu.Lock()
		m.commit(http.StatusOK, "text/event-stream; charset=utf-8", -1)
		m.mu.Unlock()
		m.startPinger()
	}
}

// commit writes the client's status line with the core's headers (quota
// headers, request id), contentType and, when known (>= 0), the length.
// The caller holds mu.
func (m *messagesWriter) commit(status int, contentType string, length int) {
	dst := m.w.Header()
	for k, vv := range m.h {
		dst[k] = vv
	}
	dst.Del("Content-Length")
	if length >= 0 {
		dst.Set("Content-Length", strconv.Itoa(length))
	}
	dst.Set("Content-Type", contentType)
	m.w.WriteHeader(status)
	m.committed = true
	m.lastWrite = time.Now()
}

func (m *messagesWriter) Write(b []byte) (int, error) {
	if m.status == 0 {
		m.WriteHeader(http.StatusOK)
	}
	if !m.events {
		m.body = append(m.body, b...)
		return len(b), nil
	}
	m.pending = append(m.pending, b...)
	m.out = m.out[:0]
	last := ""
	for !m.conv.Done() {
		n := sse.Len(m.pending)
		if n < 0 {
			break
		}
		ev := viewEvent(m.pending[:n])
		name, data := ev.Name, ev.Data
		m.pending = m.pending[n:]
		m.out = m.conv.Event(name, data, m.out)
		last = name
	}
	if len(m.out) > 0 && m.stream {
		if err := m.send(m.out); err != nil {
			return 0, err
		}
	}
	if m.conv.Done() && !responses.IsTerminal(last) {
		return len(b), errAnswerDone
	}
	return len(b), nil
}

// send writes translated events to the client and flushes them.
func (m *messagesWriter) send(b []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.w.Write(b); err != nil {
		return err
	}
	m.lastWrite = time.Now()
	return flush(m.w)
}

func flush(w http.ResponseWriter) error {
	if err := http.NewResponseController(w).Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// FlushError makes the core's flushes no-ops: send flushes after every
// translated write.
func (m *messagesWriter) FlushError() error { return nil }

// startPinger sends a ping whenever the stream was silent for
// messagesPingInterval: a timer, re-armed after each ping, that checks the
// time of the last write (cheaper per request than a goroutine and ticker).
func (m *messagesWriter) startPinger() {
	m.pinger = time.AfterFunc(messagesPingInterval, m.ping)
}

func (m *messagesWriter) ping() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pingStopped {
		return
	}
	now := time.Now()
	if idle := now.Sub(m.lastWrite); idle < messagesPingInterval {
		m.pinger.Reset(messagesPingInterval - idle)
		return
	}
	if _, err := m.w.Write(messages.Ping); err != nil || flush(m.w) != nil {
		return // the client is gone: no more pings
	}
	m.lastWrite = now
	m.pinger.Reset(messagesPingInterval)
}

// finish completes the client's answer once forward returned, and returns
// the status the client got (for the log).
func (m *messagesWriter) finish(lg *reqLog) int {
	if m.pinger != nil {
		m.mu.Lock()
		m.pingStopped = true
		m.pinger.Stop()
		m.mu.Unlock()
	}
	if errors.Is(lg.err, errAnswerDone) {
		lg.err = nil
	}
	switch {
	case m.committed && m.stream:
		if !m.conv.Done() {
			// forward ends every stream with a terminal event, which ends
			// the conversion; this is a guard, not a path.
			m.send(messages.ErrorEvent(&messages.Error{Type: messages.TypeAPI, Message: errIncomplete.message})) //nolint:errcheck // the client may be gone
		}
		return http.StatusOK
	case m.committed:
		return m.status // count_tokens or an error already answered
	case m.status == 0:
		return lg.status // the client went away: nothing to say (499)
	case !m.events:
		ue := parseUpstreamError(m.body)
		m.anthropicError(messages.FromOpenAI(m.status, ue.kind(), ue.Message))
		return m.status
	case m.conv.Err() != nil:
		m.anthropicError(m.conv.Err())
		return m.conv.Err().Status
	case !m.conv.Done():
		m.anthropicError(messages.FromOpenAI(errIncomplete.status, errIncomplete.code, errIncomplete.message))
		return errIncomplete.status
	}
	body := m.conv.Message()
	m.commit(http.StatusOK, "application/json", len(body))
	m.w.Write(body) //nolint:errcheck // the client went away
	return http.StatusOK
}

// anthropicError answers err (a *messages.Error, else an internal error)
// in Anthropic's shape. Retry-After set by the core is kept.
func (m *messagesWriter) anthropicError(err error) {
	var e *messages.Error
	if !errors.As(err, &e) {
		e = messages.FromOpenAI(errInternal.status, errInternal.code, errInternal.message)
	}
	body := e.JSON()
	h := m.w.Header()
	if ra := m.h.Get("Retry-After"); ra != "" {
		h.Set("Retry-After", ra)
	}
	if allow := m.h.Get("Allow"); allow != "" {
		h.Set("Allow", allow)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	m.w.WriteHeader(e.Status)
	m.committed = true
	m.status = e.Status
	m.w.Write(body) //nolint:errcheck // the client went away
}

// countTokens answers count_tokens with the estimate.
func (m *messagesWriter) countTokens(n int) {
	body := []byte(`{"input_tokens":` + strconv.Itoa(n) + `}`)
	h := m.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	m.w.WriteHeader(http.StatusOK)
	m.committed = true
	m.status = http.StatusOK
	m.w.Write(body) //nolint:errcheck // the client went away
}
