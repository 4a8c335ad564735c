package lambdaproxy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func loadEvent(t *testing.T, name string) ([]byte, events.APIGatewayProxyRequest) {
	t.Helper()
	raw, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return raw, ev
}

// normalize drops what encoding the event back legitimately omits: nulls,
// empty strings and maps, false booleans.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e = normalize(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case string:
		if x == "" {
			return nil
		}
	case bool:
		if !x {
			return nil
		}
	}
	return v
}

func TestEvents_RoundTrip(t *testing.T) {
	for _, name := range []string{"rest-responses.json", "rest-models-query.json", "rest-responses-base64.json"} {
		t.Run(name, func(t *testing.T) {
			raw, ev := loadEvent(t, name)
			out, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			json.Unmarshal(raw, &want)
			json.Unmarshal(out, &got)
			if !reflect.DeepEqual(normalize(want), normalize(got)) {
				t.Errorf("round trip differs:\nwant %v\n got %v", normalize(want), normalize(got))
			}
		})
	}
}

func TestNewRequest_Fixtures(t *testing.T) {
	tests := []struct {
		file       string
		method     string
		uri        string
		bodyPrefix string
		header     map[string][]string
	}{
		{"rest-responses.json", "POST", "/v1/responses", `{"model":"gpt-5-codex"`, map[string][]string{
			"Authorization": {"Bearer cgk_example_0123456789abcdef"},
			"Session_id":    {"0199a2f4-6c1e-7d2b-9a33-5f4e2d1c0b9a"},
			"X-Codex-Test":  {"one", "two"},
			"Originator":    {"codex_exec"},
		}},
		{"rest-models-query.json", "GET", "/v1/models?client_version=0.169.0&tag=a&tag=b+c", "", map[string][]string{
			"X-Api-Key": {"cgk_example_0123456789abcdef"},
		}},
		{"rest-responses-base64.json", "POST", "/v1/responses", `{"model":"gpt-5-codex"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, ev := loadEvent(t, tt.file)
			ctx := context.WithValue(context.Background(), struct{ k string }{"k"}, "v")
			req, err := NewRequest(ctx, &ev)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != tt.method || req.URL.RequestURI() != tt.uri || req.RequestURI != tt.uri {
				t.Errorf("request line = %s %s (%s), want %s %s", req.Method, req.URL.RequestURI(), req.RequestURI, tt.method, tt.uri)
			}
			if req.Host != "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com" || req.Header.Get("Host") != "" {
				t.Errorf("host = %q, header %q", req.Host, req.Header.Get("Host"))
			}
			if req.RemoteAddr != "203.0.113.7" {
				t.Errorf("RemoteAddr = %q", req.RemoteAddr)
			}
			for k, v := range tt.header {
				if got := req.Header.Values(k); !reflect.DeepEqual(got, v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			body, _ := io.ReadAll(req.Body)
			if !strings.HasPrefix(string(body), tt.bodyPrefix) || (tt.bodyPrefix == "" && len(body) != 0) {
				t.Errorf("body = %q", body)
			}
			if req.ContentLength != int64(len(body)) {
				t.Errorf("ContentLength = %d, body %d", req.ContentLength, len(body))
			}
			if got, ok := RequestFromContext(req.Context()); !ok || got.RequestContext.RequestID != ev.RequestContext.RequestID {
				t.Error("event not in the request context")
			}
			if req.Context().Value(struct{ k string }{"k"}) != "v" {
				t.Error("invocation context not kept")
			}
		})
	}
}

func TestNewRequest_Errors(t *testing.T) {
	for name, ev := range map[string]events.APIGatewayProxyRequest{
		"no method":  {Path: "/v1/models"},
		"bad base64": {HTTPMethod: "POST", Path: "/v1/responses", Body: "%%%", IsBase64Encoded: true},
	} {
		if _, err := NewRequest(context.Background(), &ev); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Single-value maps are used when API Gateway sends no multi-value ones.
	ev := events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/x", Headers: map[string]string{"x-a": "1"},
		QueryStringParameters: map[string]string{"q": "a b"}}
	req, err := NewRequest(context.Background(), &ev)
	if err != nil || req.Header.Get("X-A") != "1" || req.URL.RawQuery != "q=a+b" {
		t.Fatalf("single-value maps: %v %v %q", err, req.Header, req.URL.RawQuery)
	}
}

// splitStream reads a streaming response the way the Lambda runtime sends
// it: a JSON prelude, eight NUL bytes, then the body.
func splitStream(t *testing.T, r io.Reader) (map[string]any, *bufio.Reader) {
	t.Helper()
	br := bufio.NewReader(r)
	var pre []byte
	for !bytes.HasSuffix(pre, make([]byte, 8)) {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("prelude: %v (read %q)", err, pre)
		}
		pre = append(pre, b)
	}
	var m map[string]any
	if err := json.Unmarshal(pre[:len(pre)-8], &m); err != nil {
		t.Fatalf("prelude %q: %v", pre, err)
	}
	return m, br
}

func TestHandler_Echo(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header()["Set-Cookie"] = []string{"a=1", "b=2"}
		w.Header().Set("X-Method", r.Method+" "+r.URL.RequestURI())
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	})
	for _, file := range []string{"rest-responses.json", "rest-responses-base64.json"} {
		t.Run(file, func(t *testing.T) {
			_, ev := loadEvent(t, file)
			resp, err := Handler(h)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 201 || resp.Headers["X-Method"] != "POST /v1/responses" ||
				!reflect.DeepEqual(resp.MultiValueHeaders["Set-Cookie"], []string{"a=1", "b=2"}) {
				t.Errorf("response = %d %v %v", resp.StatusCode, resp.Headers, resp.MultiValueHeaders)
			}
			if _, multi := resp.Headers["Set-Cookie"]; multi {
				t.Error("multi-valued header in Headers")
			}
			pre, body := splitStream(t, resp)
			if pre["statusCode"] != 201.0 || pre["multiValueHeaders"] == nil {
				t.Errorf("prelude = %v", pre)
			}
			got, _ := io.ReadAll(body)
			if !strings.HasPrefix(string(got), `{"model":"gpt-5-codex"`) {
				t.Errorf("body = %q", got)
			}
			if resp.ContentType() != "application/vnd.awslambda.http-integration-response" {
				t.Errorf("content type %q", resp.ContentType())
			}
		})
	}
}

func TestHandler_StreamsBeforeHandlerReturns(t *testing.T) {
	release := make(chan struct{})
	returned := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		io.WriteString(w, "event: one\ndata: {}\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "event: two\ndata: {}\n\n")
	})
	_, ev := loadEvent(t, "rest-responses.json")
	resp, err := Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	pre, body := splitStream(t, resp)
	if pre["statusCode"] != 200.0 || pre["headers"].(map[string]any)["Content-Type"] != "text/event-stream" {
		t.Fatalf("prelude = %v", pre)
	}
	first := make([]byte, len("event: one\ndata: {}\n\n"))
	if _, err := io.ReadFull(body, first); err != nil || string(first) != "event: one\ndata: {}\n\n" {
		t.Fatalf("first event %q: %v", first, err)
	}
	select {
	case <-returned:
		t.Fatal("handler returned before release")
	default:
	}
	close(release)
	rest, err := io.ReadAll(body)
	if err != nil || string(rest) != "event: two\ndata: {}\n\n" {
		t.Fatalf("rest %q: %v", rest, err)
	}
	<-returned
	if err := resp.Close(); err != nil {
		t.Error(err)
	}
}

func TestHandler_Panics(t *testing.T) {
	_, ev := loadEvent(t, "rest-responses.json")
	tests := []struct {
		name       string
		h          http.HandlerFunc
		wantStatus int
		wantBody   string
	}{
		{"before headers", func(w http.ResponseWriter, r *http.Request) { panic("bug") }, 500, ""},
		{"abort mid-body", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "partial")
			panic(http.ErrAbortHandler)
		}, 200, "partial"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := Handler(tt.h)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d", resp.StatusCode)
			}
			_, body := splitStream(t, resp)
			got, err := io.ReadAll(body)
			if string(got) != tt.wantBody || err == nil {
				t.Errorf("body %q, err %v; want %q and a read error", got, err, tt.wantBody)
			}
		})
	}
}

func TestHandler_NoWrite(t *testing.T) {
	_, ev := loadEvent(t, "rest-models-query.json")
	resp, err := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))(context.Background(), ev)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	_, body := splitStream(t, resp)
	if b, err := io.ReadAll(body); len(b) != 0 || err != nil {
		t.Errorf("body %q %v", b, err)
	}
}

func TestHandler_ContextDoneBeforeHeaders(t *testing.T) {
	_, ev := loadEvent(t, "rest-models-query.json")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))(ctx, ev)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
