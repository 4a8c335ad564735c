package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/codexgate/codexgate/shared/wire/messages"
)

// messagesFront serves the Anthropic Messages API (Claude Code, the
// Anthropic SDKs) through shared/wire/messages: POST /v1/messages on the
// Responses stream, and POST /v1/messages/count_tokens (count) answered
// here with an estimate. Its clients expect Anthropic's error shape, so it
// is an errorShaper too.
type messagesFront struct{ count bool }

func (f messagesFront) translate(cfg *Config, body []byte, in *inbound) error {
	translate := messages.TranslateRequest
	if f.count {
		translate = messages.TranslateCountRequest
	}
	tr, err := translate(body, cfg.ClaudeModels)
	if err != nil {
		var e *messages.Error
		if errors.As(err, &e) {
			return &apiError{status: e.Status, typ: e.Type, message: e.Message}
		}
		return fmt.Errorf("translate messages request: %w", err)
	}
	if f.count {
		in.answer = []byte(`{"input_tokens":` + strconv.Itoa(messages.CountTokens(tr)) + `}`)
		return nil
	}
	// The client's headers stay here: the conversation key is all the
	// backend needs of them.
	in.header = http.Header{}
	if tr.CacheKey != "" {
		in.header["Session_id"] = []string{tr.CacheKey}
	}
	in.body, in.stream, in.session, in.model = tr.Body, tr.Stream, tr.CacheKey, tr.UpstreamModel
	in.conv = messagesConverter{messages.NewConverter(tr)}
	in.ping = messages.Ping
	return nil
}

func (messagesFront) shapeErrors(w http.ResponseWriter) shapedWriter {
	return &anthropicErrors{w: w, h: http.Header{}}
}

// messagesConverter adapts messages.Converter to converter. A failure the
// upstream reports ends the answer like a completion does: the converter
// itself writes Anthropic's error event, or keeps the error for result.
type messagesConverter struct{ c *messages.Converter }

func (mc messagesConverter) event(dst []byte, name string, data []byte) ([]byte, frontStatus, error) {
	dst = mc.c.Event(dst, name, data)
	if mc.c.Done() {
		// Done before a terminal event: a stop sequence matched, and the
		// rest of the upstream stream is not needed (closing it stops the
		// generation).
		return dst, frontDone, nil
	}
	return dst, frontContinue, nil
}

func (mc messagesConverter) result() ([]byte, error) {
	if e := mc.c.Err(); e != nil {
		return nil, &apiError{status: e.Status, typ: e.Type, message: e.Message}
	}
	return mc.c.Message(), nil
}

func (mc messagesConverter) streamError(dst []byte, ae *apiError) []byte {
	return mc.c.Fail(dst, ae.code, ae.message)
}

// anthropicErrors is the ResponseWriter of a Messages request: answers
// pass through, and an error the proxy answers in OpenAI's shape (a status
// of 400 or more, from writeError) is held and answered by finish in
// Anthropic's shape and status.
type anthropicErrors struct {
	w      http.ResponseWriter
	h      http.Header // what the proxy sets; the client gets all of it, or a chosen part with an error
	status int         // the proxy's status; 0 until WriteHeader
	held   []byte      // the error document being held
}

func (a *anthropicErrors) Header() http.Header { return a.h }

func (a *anthropicErrors) WriteHeader(code int) {
	if a.status != 0 {
		return
	}
	a.status = code
	if code >= http.StatusBadRequest {
		return // held for finish
	}
	dst := a.w.Header()
	for k, vv := range a.h {
		dst[k] = vv
	}
	a.w.WriteHeader(code)
}

func (a *anthropicErrors) Write(b []byte) (int, error) {
	if a.status == 0 {
		a.WriteHeader(http.StatusOK)
	}
	if a.status >= http.StatusBadRequest {
		a.held = append(a.held, b...)
		return len(b), nil
	}
	return a.w.Write(b)
}

// Unwrap lets http.ResponseController flush the client's writer.
func (a *anthropicErrors) Unwrap() http.ResponseWriter { return a.w }

func (a *anthropicErrors) finish(status int) int {
	if a.status < http.StatusBadRequest {
		return status
	}
	ue := parseUpstreamError(a.held)
	e := messages.FromOpenAI(a.status, ue.kind(), ue.Message)
	body := e.JSON()
	h := a.w.Header()
	for _, k := range []string{"Retry-After", "Allow"} {
		if v := a.h.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	a.w.WriteHeader(e.Status)
	a.w.Write(body) //nolint:errcheck // the client went away
	return e.Status
}
