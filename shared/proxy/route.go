package proxy

import (
	"net/http"
	"strings"
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
	// front reads the client's body (front.go): every route with a body
	// has one.
	front front
	// rewrite, when set, transforms a 200 JSON answer (models.go); keep,
	// when not nil, is the key's model filter (keyctl.go).
	rewrite func(p *Proxy, doc []byte, keep func(id string) bool) ([]byte, error)
}

// routes are the endpoints codexgate serves (docs/DESIGN.md §8.3).
var routes = []*route{
	{path: "/v1/responses", method: http.MethodPost, upstream: "/responses", accept: "text/event-stream", responses: true, hasBody: true,
		front: responsesFront{stream: true}},
	{path: "/v1/responses/compact", method: http.MethodPost, upstream: "/responses/compact", accept: "application/json", hasBody: true,
		front: responsesFront{}},
	{path: "/v1/models", method: http.MethodGet, upstream: "/models", accept: "application/json", query: true,
		rewrite: (*Proxy).modelList},
	// API fronts: translated to and from the Responses stream.
	{path: "/v1/chat/completions", method: http.MethodPost, upstream: "/responses", accept: "text/event-stream", responses: true, hasBody: true,
		front: chatFront{}},
	{path: "/v1/messages", method: http.MethodPost, upstream: "/responses", accept: "text/event-stream", responses: true, hasBody: true,
		front: messagesFront{}}, // Claude Code adds ?beta=true; the query is not forwarded
	{path: "/v1/messages/count_tokens", method: http.MethodPost, hasBody: true,
		front: messagesFront{count: true}}, // answered here (an estimate): nothing goes upstream
}

// match finds the route for a path (one trailing slash is ignored). It
// returns errNotFound when none fits, and the path's route with errMethod
// when the method does not.
func match(method, path string) (*route, error) {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	for _, rt := range routes {
		if rt.path != path {
			continue
		}
		if method == rt.method || (method == http.MethodHead && rt.method == http.MethodGet) {
			return rt, nil
		}
		return rt, errMethod
	}
	return nil, errNotFound
}
