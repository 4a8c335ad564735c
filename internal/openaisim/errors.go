package openaisim

import (
	"encoding/json"
	"net/http"
)

// Error codes and messages the simulator answers with, as data. Token
// endpoint errors and backend 401s use the nested OpenAI shape
// {"error":{"message","type","param","code"}}.
const (
	codeRefreshReused      = "refresh_token_reused"
	codeRefreshExpired     = "refresh_token_expired"
	codeRefreshInvalidated = "refresh_token_invalidated"
	codeInvalidGrant       = "invalid_grant"
	codeInvalidClient      = "invalid_client"
	codeInvalidRequest     = "invalid_request"
	codeUnsupportedGrant   = "unsupported_grant_type"
	codeTokenExpired       = "token_expired"
	codeTokenInvalidated   = "token_invalidated"
	codeTokenInvalid       = "token_invalid"
	codeMissingAuth        = "missing_authorization"

	msgRefreshReused      = "Your refresh token has already been used to generate a new access token. Please try signing in again."
	msgRefreshExpired     = "Your refresh token has expired. Please try signing in again."
	msgRefreshInvalidated = "Your refresh token has been invalidated. Please try signing in again."
	msgRefreshUnknown     = "Could not validate your refresh token. Please try signing in again."
	msgTokenExpired       = "Provided authentication token is expired. Please try signing in again."
	msgTokenInvalidated   = "Your authentication token has been invalidated. Please try signing in again."
	msgTokenInvalid       = "Could not parse your authentication token. Please try signing in again."
	msgMissingAuth        = "Missing bearer authentication in header"
	msgAccountMismatch    = "Provided authentication token is expired. Please try signing in again."
)

type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// UnauthorizedBody is the body the backend answers a 401 with for an
// expired access token (code token_expired): what an upstream incident
// that rejects valid tokens looks like to a client (Fault.Body).
func UnauthorizedBody() string {
	code := codeTokenExpired
	b, _ := json.Marshal(map[string]any{"error": apiError{Message: msgTokenExpired, Type: "invalid_request_error", Code: &code}})
	return string(b)
}

// writeError writes {"error":{…}}; an empty code or param is JSON null.
func writeError(w http.ResponseWriter, status int, code, param, msg string) {
	e := apiError{Message: msg, Type: "invalid_request_error"}
	if code != "" {
		e.Code = &code
	}
	if param != "" {
		e.Param = &param
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// writeDetail writes the backend's request-validation shape. The ChatGPT
// backend answers {"detail": msg}; the nested error object is added so
// clients parsing either shape see the message.
func writeDetail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{
		"detail": msg,
		"error":  apiError{Message: msg, Type: "invalid_request_error"},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "openaisim: marshal response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client went away; nothing to do
}
