package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// apiError is an error the client may see: status, OpenAI type/code and a
// message written for the client. Everything else is internal and is shown
// only as a generic message (the cause goes to the log).
type apiError struct {
	status  int
	typ     string
	code    string
	message string
	// resetsAt is set on 429s: the earliest time a retry can succeed.
	resetsAt time.Time
}

func (e *apiError) Error() string { return e.message }

// OpenAI error types.
const (
	typeInvalidRequest = "invalid_request_error"
	typeServer         = "server_error"
)

// Errors the proxy answers with, in one place.
var (
	errMissingKey = &apiError{status: http.StatusUnauthorized, typ: typeInvalidRequest, code: "invalid_api_key",
		message: "Missing API key. Send your codexgate key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'."}
	errInvalidKey = &apiError{status: http.StatusUnauthorized, typ: typeInvalidRequest, code: "invalid_api_key",
		message: "Incorrect API key provided."}
	errKeyCheck = &apiError{status: http.StatusServiceUnavailable, typ: typeServer, code: "auth_unavailable",
		message: "The API key could not be verified right now. Please retry."}
	errNotFound = &apiError{status: http.StatusNotFound, typ: typeInvalidRequest, code: "unknown_url",
		message: "Unknown URL. codexgate serves POST /v1/responses, POST /v1/responses/compact, POST /v1/chat/completions, GET /v1/models, POST /v1/messages and POST /v1/messages/count_tokens."}
	errMethod = &apiError{status: http.StatusMethodNotAllowed, typ: typeInvalidRequest, code: "method_not_allowed",
		message: "Method not allowed for this URL."}
	errTooLarge = &apiError{status: http.StatusRequestEntityTooLarge, typ: typeInvalidRequest, code: "request_too_large",
		message: "The request body is too large."}
	errBadJSON = &apiError{status: http.StatusBadRequest, typ: typeInvalidRequest, code: "invalid_json",
		message: "The request body must be a JSON object."}
	errBadEncoding = &apiError{status: http.StatusUnsupportedMediaType, typ: typeInvalidRequest, code: "unsupported_content_encoding",
		message: "Unsupported Content-Encoding; send the body uncompressed or gzip-compressed."}
	errReadBody = &apiError{status: http.StatusBadRequest, typ: typeInvalidRequest, code: "invalid_body",
		message: "The request body could not be read."}
	errPoolUnavailable = &apiError{status: http.StatusServiceUnavailable, typ: typeServer, code: "accounts_unavailable",
		message: "The account pool could not be loaded right now. Please retry."}
	errNoAccount = &apiError{status: http.StatusServiceUnavailable, typ: typeServer, code: "no_available_account",
		message: "No Codex account is available right now. Run `codexgate accounts` to see why."}
	errUpstreamFailed = &apiError{status: http.StatusServiceUnavailable, typ: typeServer, code: "upstream_unavailable",
		message: "The Codex backend did not answer successfully on any account. Please retry."}
	errIncomplete = &apiError{status: http.StatusBadGateway, typ: typeServer, code: "upstream_stream_error",
		message: "The Codex backend ended the response before it was complete."}
	errTimeout = &apiError{status: http.StatusGatewayTimeout, typ: typeServer, code: "timeout",
		message: "The request timed out."}
	errInternal = &apiError{status: http.StatusInternalServerError, typ: typeServer, code: "internal_error",
		message: "Internal error."}
)

// AvailabilityEvents hears of every request answered 503
// no_available_account (the pool had no account to try: none listed, or all
// paused, cooling down for something other than a limit, or needing a
// login); metrics.AvailabilityEvents emits it as a metric. It runs on the
// request path: it must not block (an EMF line, no AWS call).
type AvailabilityEvents interface {
	NoAccountAvailable()
}

// errUsageLimit is the 429 when every account is past its usage limit.
func errUsageLimit(resetsAt time.Time) *apiError {
	return &apiError{status: http.StatusTooManyRequests, typ: "usage_limit_reached", code: "usage_limit_reached",
		message: "Every Codex account has reached its usage limit.", resetsAt: resetsAt}
}

// errRefreshing is the 503 when the only accounts left are being refreshed
// by another process: retry at retryAt.
func errRefreshing(retryAt time.Time) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, typ: typeServer, code: "account_refreshing",
		message: "The account's token is being refreshed by another process. Please retry shortly.", resetsAt: retryAt}
}

// refreshingRetry is the Retry-After of errRefreshing: a refresh takes a
// second or two; one stuck behind a crashed holder, up to a lease.
const refreshingRetry = 5 * time.Second

// errRateLimited is the 429 when every account is briefly rate limited.
func errRateLimited(retryAt time.Time) *apiError {
	return &apiError{status: http.StatusTooManyRequests, typ: "rate_limit_exceeded", code: "rate_limit_exceeded",
		message: "Every Codex account is rate limited right now. Please retry shortly.", resetsAt: retryAt}
}

// toAPIError maps any error to what the client may see. Typed errors map to
// statuses here and nowhere else.
func toAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, context.DeadlineExceeded):
		return errTimeout
	default:
		return errInternal
	}
}

// errorBody is the OpenAI error document.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message         string `json:"message"`
	Type            string `json:"type"`
	Code            string `json:"code"`
	ResetsAt        int64  `json:"resets_at,omitempty"`
	ResetsInSeconds int64  `json:"resets_in_seconds,omitempty"`
}

func (e *apiError) object(now time.Time) errorObject {
	o := errorObject{Message: e.message, Type: e.typ, Code: e.code}
	if !e.resetsAt.IsZero() {
		o.ResetsAt = e.resetsAt.Unix()
		o.ResetsInSeconds = max(int64(e.resetsAt.Sub(now).Seconds()+0.999), 1)
	}
	return o
}

// writeError answers with err in OpenAI's shape. It is the only function that
// writes error responses; call it only before anything else was written.
func (p *Proxy) writeError(w http.ResponseWriter, err error) int {
	ae := toAPIError(err)
	if ae == errNoAccount && p.cfg.AvailabilityEvents != nil {
		p.cfg.AvailabilityEvents.NoAccountAvailable()
	}
	now := p.cfg.Clock()
	obj := ae.object(now)
	body, _ := json.Marshal(errorBody{Error: obj}) // plain strings and ints: cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if obj.ResetsInSeconds > 0 {
		h.Set("Retry-After", strconv.FormatInt(obj.ResetsInSeconds, 10))
	}
	w.WriteHeader(ae.status)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
	return ae.status
}

// streamErrorEvent is the SSE event that ends a stream the upstream broke
// after bytes already reached the client (no replay is possible then).
func streamErrorEvent(ae *apiError) []byte {
	b, _ := json.Marshal(struct {
		Type  string      `json:"type"`
		Error errorObject `json:"error"`
	}{"error", errorObject{Message: ae.message, Type: ae.typ, Code: ae.code}})
	out := make([]byte, 0, len(b)+24)
	out = append(out, "event: error\ndata: "...)
	out = append(out, b...)
	return append(out, "\n\n"...)
}
