package proxy

import (
	"encoding/json"
	"net/http"
)

// front is one client API served from the Codex backend's Responses
// stream. Like httputil.ReverseProxy's hooks, it plugs in at the two edges
// of a request only: translate rewrites the client's body before anything
// goes upstream, and the converter it sets turns the upstream's events
// into the client's answer at the relay. Key check, account routing, 401
// refresh and replay, failover and cooldowns are the same code for every
// front. The fronts are responsesFront (body.go: /v1/responses itself and
// compact), chatFront (chat.go) and messagesFront (messages.go).
type front interface {
	// translate validates and translates a client body into in, which
	// holds the route and the client's header: it sets the body sent
	// upstream, what the client asked for and, for a translated answer,
	// the converter. A request the front refuses is an *apiError.
	translate(cfg *Config, body []byte, in *inbound) error
}

// errorShaper is a front whose clients expect errors in another shape
// than OpenAI's (Messages: Anthropic's). The proxy answers every error in
// OpenAI's shape (writeError); such a front's requests are served through
// the writer shapeErrors returns, which rewrites them.
type errorShaper interface {
	shapeErrors(w http.ResponseWriter) shapedWriter
}

// shapedWriter is the ResponseWriter of an errorShaper's request.
type shapedWriter interface {
	http.ResponseWriter
	// finish answers a held error, once the handler is done, and returns
	// the status the client got (status is the handler's).
	finish(status int) int
}

// converter turns one upstream Responses stream into the front's output.
// One converter serves one request and is used from one goroutine.
type converter interface {
	// event converts one upstream event, appending what the client gets
	// (when streaming) to dst.
	event(dst []byte, name string, data []byte) ([]byte, frontStatus, error)
	// result is the non-streaming answer once event returned frontDone,
	// or the error (an *apiError) to answer instead.
	result() ([]byte, error)
	// streamError appends the event that reports ae inside a stream.
	streamError(dst []byte, ae *apiError) []byte
}

type frontStatus int

const (
	frontContinue frontStatus = iota
	frontDone                 // the answer is complete; a stream is closed properly
	frontFailed               // the event is an upstream error (response.failed, error)
)

// jsonCacheKey is a translated prompt_cache_key as the JSON string
// sessionKey reads; nil when empty.
func jsonCacheKey(key string) json.RawMessage {
	if key == "" {
		return nil
	}
	b, _ := json.Marshal(key) // a string: cannot fail
	return b
}
