package messages

import (
	"encoding/json"
	"net/http"
)

// Anthropic error types (https://docs.anthropic.com/en/api/errors).
const (
	TypeInvalidRequest = "invalid_request_error" // 400
	TypeAuthentication = "authentication_error"  // 401
	TypePermission     = "permission_error"      // 403
	TypeNotFound       = "not_found_error"       // 404
	TypeTooLarge       = "request_too_large"     // 413
	TypeRateLimit      = "rate_limit_error"      // 429
	TypeAPI            = "api_error"             // 500
	TypeOverloaded     = "overloaded_error"      // 529
)

// StatusOverloaded is Anthropic's 529: no capacity to serve the request.
const StatusOverloaded = 529

// Error is an error in Anthropic's shape, with its HTTP status.
type Error struct {
	Status  int
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// JSON is the error document {"type":"error","error":{"type","message"}}.
func (e *Error) JSON() []byte {
	b, _ := json.Marshal(errorDoc{Type: "error", Error: errorObject{Type: e.Type, Message: e.Message}}) // strings only: cannot fail
	return b
}

type errorDoc struct {
	Type  string      `json:"type"`
	Error errorObject `json:"error"`
}

type errorObject struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func invalid(msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Type: TypeInvalidRequest, Message: msg}
}

// overloadedCodes are the proxy's codes that mean "no account can serve
// this request now": Anthropic clients back off and retry on 529.
var overloadedCodes = map[string]bool{
	"no_available_account": true,
	"upstream_unavailable": true,
}

// FromOpenAI converts an error the proxy core answers in OpenAI's shape
// (status, code, message) into Anthropic's. The message is kept: it was
// written for clients.
func FromOpenAI(status int, code, message string) *Error {
	e := &Error{Status: status, Message: message}
	switch {
	case overloadedCodes[code]:
		e.Status, e.Type = StatusOverloaded, TypeOverloaded
	case status == http.StatusUnauthorized:
		e.Type = TypeAuthentication
	case status == http.StatusForbidden:
		e.Type = TypePermission
	case status == http.StatusNotFound:
		e.Type = TypeNotFound
	case status == http.StatusRequestEntityTooLarge:
		e.Type = TypeTooLarge
	case status == http.StatusTooManyRequests:
		e.Type = TypeRateLimit
	case status >= 400 && status < 500:
		e.Type = TypeInvalidRequest
	case status == StatusOverloaded:
		e.Type = TypeOverloaded
	default:
		e.Type = TypeAPI
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

// streamErrorStatus maps the code of a failed Responses stream to the
// status a non-streaming client gets; unknown codes are the backend's
// fault (502, api_error).
var streamErrorStatus = map[string]int{
	"usage_limit_reached":     http.StatusTooManyRequests,
	"rate_limit_exceeded":     http.StatusTooManyRequests,
	"insufficient_quota":      http.StatusTooManyRequests,
	"context_length_exceeded": http.StatusBadRequest,
	"invalid_prompt":          http.StatusBadRequest,
	"invalid_request_error":   http.StatusBadRequest,
	"invalid_request":         http.StatusBadRequest,
	"server_is_overloaded":    StatusOverloaded,
}

// fromStreamFailure is the error of a response.failed or error event.
func fromStreamFailure(code, message string) *Error {
	status, ok := streamErrorStatus[code]
	if !ok {
		status = http.StatusBadGateway
	}
	if message == "" {
		message = "The Codex backend failed to produce a response."
	}
	return FromOpenAI(status, code, message)
}
