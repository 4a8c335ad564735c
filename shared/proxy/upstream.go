package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/codexgate/codexgate/shared/quota"
)

// upstreamError is an error the Codex backend reported, in the body of a
// non-2xx answer or in an SSE error / response.failed event. The backend
// puts the code in "code" or (for usage limits) in "type".
type upstreamError struct {
	Type            string      `json:"type"`
	Code            string      `json:"code"`
	Message         string      `json:"message"`
	ResetsAt        json.Number `json:"resets_at"`
	ResetsInSeconds json.Number `json:"resets_in_seconds"`
}

// kind is the error's code: "code" when set, else "type".
func (e upstreamError) kind() string {
	if e.Code != "" {
		return e.Code
	}
	return e.Type
}

// resetAt is when a usage limit lifts: resets_at, else now+resets_in_seconds.
func (e upstreamError) resetAt(now time.Time) time.Time {
	if v, err := e.ResetsAt.Float64(); err == nil && v > 0 {
		return time.Unix(int64(v), 0)
	}
	if v, err := e.ResetsInSeconds.Float64(); err == nil && v > 0 {
		return now.Add(time.Duration(v * float64(time.Second)))
	}
	return time.Time{}
}

// Upstream error codes the proxy acts on (docs/DESIGN.md §6.4).
const (
	codeUsageLimit = "usage_limit_reached" // cool down until resets_at, fail over
	codeRateLimit  = "rate_limit_exceeded" // short backoff, fail over
)

// maxErrorBody bounds how much of an upstream error body is read.
const maxErrorBody = 64 << 10

// readUpstreamError reads and closes an error answer's body and decodes
// {"error":{…}} (or a bare object, or {"detail": "…"}).
func readUpstreamError(resp *http.Response) upstreamError {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody)) // a short read still classifies by status
	return parseUpstreamError(body)
}

func parseUpstreamError(body []byte) upstreamError {
	var doc struct {
		Error    json.RawMessage `json:"error"`
		Response struct {
			Error json.RawMessage `json:"error"`
		} `json:"response"`
		Detail json.RawMessage `json:"detail"`
	}
	var e upstreamError
	if json.Unmarshal(body, &doc) != nil {
		return e
	}
	switch {
	case len(doc.Error) > 0 && doc.Error[0] == '{':
		json.Unmarshal(doc.Error, &e) //nolint:errcheck // best effort: fields stay empty
	case len(doc.Error) > 0 && doc.Error[0] == '"':
		json.Unmarshal(doc.Error, &e.Code) //nolint:errcheck
	case len(doc.Response.Error) > 0 && doc.Response.Error[0] == '{':
		json.Unmarshal(doc.Response.Error, &e) //nolint:errcheck
	default:
		json.Unmarshal(body, &e) //nolint:errcheck
		if e.Message == "" && len(doc.Detail) > 0 && doc.Detail[0] == '"' {
			json.Unmarshal(doc.Detail, &e.Message) //nolint:errcheck
		}
	}
	return e
}

// retryAfter parses a Retry-After header in seconds; zero when absent.
func retryAfter(h http.Header, now time.Time) time.Time {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return now.Add(time.Duration(s) * time.Second)
	}
	return time.Time{}
}

// quotaFromHeader reads the x-codex-{primary,secondary}-* headers every
// backend answer carries: free quota telemetry for routing.
func quotaFromHeader(h http.Header, now time.Time) quota.Snapshot {
	var q quota.Snapshot
	for _, k := range quotaHeaders {
		v := headerValue(h, k.used)
		if v == "" {
			continue
		}
		used, err := strconv.ParseFloat(v, 64)
		if err != nil {
			continue
		}
		w := quota.Window{UsedPercent: used, Kind: quota.KindOther}
		if mins, err := strconv.ParseInt(headerValue(h, k.windowMinutes), 10, 64); err == nil && mins > 0 {
			w.WindowSeconds = mins * 60
			w.Kind = quota.Classify(w.WindowSeconds)
		}
		if at, err := strconv.ParseInt(headerValue(h, k.resetAt), 10, 64); err == nil && at > 0 {
			w.ResetAt = time.Unix(at, 0)
		} else if after, err := strconv.ParseInt(headerValue(h, k.resetAfter), 10, 64); err == nil && after >= 0 {
			w.ResetAt = now.Add(time.Duration(after) * time.Second)
		}
		q.Windows = append(q.Windows, w)
	}
	if len(q.Windows) > 0 {
		q.FetchedAt = now
	}
	return q
}

// quotaHeaders are the x-codex-* quota headers of the primary and the
// secondary window, spelled canonically: every answer is read for them, so
// they index the header map directly, without building or canonicalising
// a key per lookup.
var quotaHeaders = [...]struct{ used, windowMinutes, resetAt, resetAfter string }{
	{"X-Codex-Primary-Used-Percent", "X-Codex-Primary-Window-Minutes", "X-Codex-Primary-Reset-At", "X-Codex-Primary-Reset-After-Seconds"},
	{"X-Codex-Secondary-Used-Percent", "X-Codex-Secondary-Window-Minutes", "X-Codex-Secondary-Reset-At", "X-Codex-Secondary-Reset-After-Seconds"},
}

// headerValue is h.Get for a key already in canonical form.
func headerValue(h http.Header, canonical string) string {
	if v := h[canonical]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// streamErrorStatus maps an error code from a failed stream to the status a
// non-streaming client gets. Unknown codes are the upstream's fault: 502.
var streamErrorStatus = map[string]int{
	codeUsageLimit:            http.StatusTooManyRequests,
	codeRateLimit:             http.StatusTooManyRequests,
	"insufficient_quota":      http.StatusTooManyRequests,
	"context_length_exceeded": http.StatusBadRequest,
	"invalid_prompt":          http.StatusBadRequest,
	"invalid_request_error":   http.StatusBadRequest,
	"invalid_request":         http.StatusBadRequest,
}

// toClientError turns an upstream-reported failure into the client's error.
// The upstream's message is meant for API clients and is passed on.
func (e upstreamError) toClientError() *apiError {
	status, ok := streamErrorStatus[e.kind()]
	if !ok {
		status = http.StatusBadGateway
	}
	typ := e.Type
	if typ == "" || typ == "error" {
		typ = typeServer
		if status < 500 {
			typ = typeInvalidRequest
		}
	}
	msg := e.Message
	if msg == "" {
		msg = "The Codex backend failed to produce a response."
	}
	return &apiError{status: status, typ: typ, code: e.kind(), message: msg}
}
