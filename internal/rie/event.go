package rie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Prelude is the JSON head of a streamed API Gateway answer
// (events.APIGatewayProxyStreamingResponse before its body).
type Prelude struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
}

// preludeEnd separates the prelude from the body of a streamed answer.
var preludeEnd = make([]byte, 8)

// SplitStreamed splits a streamed answer into its prelude and body: prelude
// JSON, eight NUL bytes, body.
func SplitStreamed(b []byte) (Prelude, []byte, error) {
	var p Prelude
	i := bytes.Index(b, preludeEnd)
	if i < 0 {
		return p, nil, errors.New("streamed answer: no prelude separator")
	}
	if err := json.Unmarshal(b[:i], &p); err != nil {
		return p, nil, fmt.Errorf("streamed answer: prelude: %w", err)
	}
	return p, b[i+len(preludeEnd):], nil
}

// APIGatewayEvent builds the REST API proxy event that API Gateway sends
// (resource /{proxy+}, stage prod, caller 127.0.0.1) for one request with
// single-valued headers.
func APIGatewayEvent(method, path string, headers map[string]string, body string) []byte {
	mv := make(map[string][]string, len(headers))
	for k, v := range headers {
		mv[k] = []string{v}
	}
	ev := events.APIGatewayProxyRequest{
		Resource: "/{proxy+}", Path: path, HTTPMethod: method,
		Headers: headers, MultiValueHeaders: mv,
		PathParameters: map[string]string{"proxy": strings.TrimPrefix(path, "/")},
		RequestContext: events.APIGatewayProxyRequestContext{
			ResourcePath: "/{proxy+}", HTTPMethod: method, Path: "/prod" + path, Stage: "prod",
			RequestID: "rie", DomainName: "rie.execute-api.local", Protocol: "HTTP/1.1",
			Identity: events.APIGatewayRequestIdentity{SourceIP: "127.0.0.1"},
		},
		Body: body,
	}
	b, _ := json.Marshal(ev) // strings and maps of strings: cannot fail
	return b
}
