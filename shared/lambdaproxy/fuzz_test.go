package lambdaproxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzNewRequest feeds arbitrary API Gateway REST events (as JSON) to the
// event adapter and the streaming handler: whatever API Gateway (or an
// attacker able to shape a request) sends, the adapter must return an error
// or a well-formed request, and must never panic.
//
//	go test -run '^$' -fuzz FuzzNewRequest -fuzztime 30s ./shared/lambdaproxy/
//
// Seeds: the event fixtures in testdata/, the cases below, and the corpus in
// testdata/fuzz/FuzzNewRequest/.
func FuzzNewRequest(f *testing.F) {
	fixtures, _ := filepath.Glob("testdata/*.json")
	for _, p := range fixtures {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		`{}`,
		`{"httpMethod":"GET"}`,
		`{"httpMethod":"POST","path":"/v1/responses","body":"not base64!","isBase64Encoded":true}`,
		`{"httpMethod":"GET","path":"","headers":{"Host":""},"queryStringParameters":{"":""}}`,
		`{"httpMethod":"G E T","path":"/%zz","multiValueHeaders":{"X":[]},"multiValueQueryStringParameters":{"a":["1","2"],"b":[]}}`,
		`{"httpMethod":"POST","path":"//../..","headers":{"Host":"a b\r\nc"},"requestContext":{"domainName":"x:y:z"}}`,
		`{"httpMethod":"\u0000","path":"\u0000","headers":{"\u0000":"\u0000"}}`,
	} {
		f.Add([]byte(s))
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(b) //nolint:errcheck // the pipe reader drains
	})
	serve := Handler(h)
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(data, &ev); err != nil {
			return
		}
		req, err := NewRequest(context.Background(), &ev)
		if err != nil {
			if req != nil {
				t.Fatal("request returned with an error")
			}
			return
		}
		if req.Method != ev.HTTPMethod {
			t.Fatalf("method %q, event %q", req.Method, ev.HTTPMethod)
		}
		if req.URL == nil || req.Body == nil || req.Header == nil {
			t.Fatal("incomplete request")
		}
		if _, err := io.ReadAll(req.Body); err != nil {
			t.Fatalf("read body: %v", err)
		}
		resp, err := serve(context.Background(), ev)
		if err != nil {
			return
		}
		if resp == nil || resp.Body == nil {
			t.Fatal("nil response without an error")
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained only
	})
}
