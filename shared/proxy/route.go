package proxy

import (
	"net/http"
	"strings"

	"github.com/codexgate/codexgate/shared/wire/chat"
)

// route is one client-facing endpoint and where it goes upstream.
type route struct {
	path     string // client path, e.g. /v1/responses
	method   string
	upstream string // path below Config.UpstreamURL
	accept   string // Accept header sent upstream
	// responses marks the SSE endpoint: the body is rewritten to stream, the
	// answer is relayed event by event or aggregated.
	responses bool
	// hasBody: the client body is read, validated and forwarded.
	hasBody bool
	// query: the client's query string is forwarded (models takes
	// client_version).
	query bool
	// front, when set, translates the client's API to and from the
	// Responses stream (front.go); responses must be set too.
	front front
	// rewrite, when set, transforms a 200 JSON answer (front.go).
	rewrite func([]byte) ([]byte, error)
}

// routes are the endpoints codexgate serves (docs/DESIGN.md §8.3).
var routes = []*route{
	{path: "/v1/responses", method: http.MethodPost, upstream: "/responses", accept: "text/event-stream", responses: true, hasBody: true},
	{path: "/v1/responses/compact", method: http.MethodPost, upstream: "/responses/compact", accept: "application/json", hasBody: true},
	{path: "/v1/models", method: http.MethodGet, upstream: "/models", accept: "application/json", query: true,
		rewrite: chat.ModelList},
	// API fronts: translated to and from the Responses stream.
	{path: "/v1/chat/completions", method: http.MethodPost, upstream: "/responses", accept: "text/event-stream", responses: true, hasBody: true,
		front: chatFront{}},
}

// match finds the route for a path (one trailing slash is ignored). It
// returns errNotFound or errMethod (with the allowed method) when none fits.
func match(method, path string) (*route, string, error) {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	for _, rt := range routes {
		if rt.path != path {
			continue
		}
		if method == rt.method || (method == http.MethodHead && rt.method == http.MethodGet) {
			return rt, "", nil
		}
		return nil, rt.method, errMethod
	}
	return nil, "", errNotFound
}
