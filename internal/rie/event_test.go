package rie

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestSplitStreamed(t *testing.T) {
	nul8 := string(make([]byte, 8))
	for _, tc := range []struct {
		name, raw  string
		wantStatus int
		wantBody   string
		wantErr    bool
	}{
		{"sse", `{"statusCode":200,"headers":{"Content-Type":"text/event-stream"}}` + nul8 + "data: x\n\n", 200, "data: x\n\n", false},
		{"empty body", `{"statusCode":204}` + nul8, 204, "", false},
		{"NULs in body", `{"statusCode":200}` + nul8 + "a\x00b" + nul8, 200, "a\x00b" + nul8, false},
		{"no separator", `{}`, 0, "", true},
		{"bad prelude", `{"statusCode":` + nul8 + "x", 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, body, err := SplitStreamed([]byte(tc.raw))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("accepted: %+v %q", p, body)
				}
				return
			}
			if err != nil || p.StatusCode != tc.wantStatus || string(body) != tc.wantBody {
				t.Fatalf("got %+v %q %v; want %d %q", p, body, err, tc.wantStatus, tc.wantBody)
			}
		})
	}
}

func TestAPIGatewayEvent(t *testing.T) {
	raw := APIGatewayEvent(http.MethodPost, "/v1/responses",
		map[string]string{"Authorization": "Bearer k", "Content-Type": "application/json"}, `{"a":1}`)
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	switch {
	case ev.HTTPMethod != http.MethodPost || ev.Path != "/v1/responses" || ev.Resource != "/{proxy+}":
		t.Errorf("method %q path %q resource %q", ev.HTTPMethod, ev.Path, ev.Resource)
	case ev.PathParameters["proxy"] != "v1/responses":
		t.Errorf("proxy path parameter %q", ev.PathParameters["proxy"])
	case ev.Headers["Authorization"] != "Bearer k" || len(ev.MultiValueHeaders["Content-Type"]) != 1:
		t.Errorf("headers %v, multi-value %v", ev.Headers, ev.MultiValueHeaders)
	case ev.Body != `{"a":1}` || ev.IsBase64Encoded:
		t.Errorf("body %q base64 %v", ev.Body, ev.IsBase64Encoded)
	case ev.RequestContext.Stage != "prod" || ev.RequestContext.Path != "/prod/v1/responses" || ev.RequestContext.Identity.SourceIP != "127.0.0.1":
		t.Errorf("request context %+v", ev.RequestContext)
	}
}
