//go:build linux

package lambdae2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/rie"
	"github.com/codexgate/codexgate/shared/version"
)

// responsesBody is a Codex CLI turn as the simulator's strict rules want it.
const responsesBody = `{"model":"gpt-5.1-codex","instructions":"hi","input":"Say hi","stream":true,"store":false}`

// proxyEvent is the shipped functions/proxy/event.json (a REST API
// streaming request with the headers API Gateway and CloudFront add), sent
// with key and responsesBody.
func proxyEvent(t *testing.T, key string) []byte {
	return shippedEvent(t, responsesBody, func(ev *events.APIGatewayProxyRequest) {
		setHeaders(ev, map[string]string{"Authorization": "Bearer " + key})
	})
}

// shippedEvent is functions/proxy/event.json (a REST API request as API
// Gateway sends it) changed by edit, with body, as the RIE's invoke payload.
func shippedEvent(t *testing.T, body string, edit func(*events.APIGatewayProxyRequest)) []byte {
	t.Helper()
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(fixture(t, "proxy"), &ev); err != nil {
		t.Fatal(err)
	}
	edit(&ev)
	ev.Body = body
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// setHeaders sets headers in both of the event's header maps; an empty
// value removes the header.
func setHeaders(ev *events.APIGatewayProxyRequest, h map[string]string) {
	for k, v := range h {
		if v == "" {
			delete(ev.Headers, k)
			delete(ev.MultiValueHeaders, k)
			continue
		}
		ev.Headers[k] = v
		ev.MultiValueHeaders[k] = []string{v}
	}
}

// streamed invokes the proxy and splits its streamed answer.
func streamed(t *testing.T, fn lambda, event []byte) (rie.Prelude, []byte) {
	t.Helper()
	raw := fn.invoke(event)
	p, body, err := rie.SplitStreamed(raw)
	if err != nil {
		t.Fatalf("%v: %.500q", err, raw)
	}
	// Exactly eight NUL bytes: the body of either answer never starts with one.
	if bytes.HasPrefix(body, []byte{0}) {
		t.Fatalf("more than eight NUL bytes after the prelude: %.100q", raw)
	}
	return p, body
}

// startProxy starts the proxy bootstrap under the RIE over a world with one
// logged-in account ("main", access tokens good for an hour) and a key named
// keyName; env is added to the world's.
func startProxy(t *testing.T, keyName string, env ...string) (*world, lambda, string) {
	t.Helper()
	bin := findRIE(t)
	w := newWorld(t, time.Hour)
	boot := bootstrap(t, "proxy")
	w.Login(t, "main", "id-main", 0)
	key, _, err := w.states.CreateKey(context.Background(), keyName)
	if err != nil {
		t.Fatal(err)
	}
	return w, startLambda(t, bin, boot, append(slices.Clone(w.env), env...)), key
}

// wantEventStream fails the test unless the prelude is 200 with a
// text/event-stream body.
func wantEventStream(t *testing.T, step string, p rie.Prelude, body []byte) {
	t.Helper()
	h := http.Header{}
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	if p.StatusCode != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("%s: prelude %+v, want 200 text/event-stream; body %.300s", step, p, body)
	}
}

func TestProxy_RIE(t *testing.T) {
	// Lambda tells the function its size: at 256 MB, a seventh of a vCPU,
	// the bootstrap runs one P (lambdacpu).
	w, fn, key := startProxy(t, "e2e", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256")

	wantStream := func(step string) {
		t.Helper()
		p, body := streamed(t, fn, proxyEvent(t, key))
		wantEventStream(t, step, p, body)
		if !bytes.Contains(body, []byte("event: response.completed")) || !bytes.Contains(body, []byte(openaisim.DefaultAnswer)) {
			t.Fatalf("%s: SSE body without response.completed and the answer: %.500s", step, body)
		}
	}
	wantStream("first turn")
	if log := fn.Log(); !strings.Contains(log, `"msg":"codexgate cold start","version":"`+version.Release+`-dev`) {
		t.Errorf("the bootstrap did not log its version at cold start:\n%.2000s", log)
	}
	if log := fn.Log(); !strings.Contains(log, `"msg":"GOMAXPROCS fitted to the function's CPU share","gomaxprocs":1,"memory_mb":"256"`) {
		t.Errorf("the bootstrap did not log GOMAXPROCS 1 for 256 MB:\n%.2000s", log)
	}
	// The invocation wrote its request's usage before it ended (Lambda
	// freezes the container then): the counter is in the table already,
	// one request's worth.
	rows, err := w.states.Usage(context.Background(), time.Now().Add(-24*time.Hour), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if u := w.Sim.Stats().LastUsage; len(rows) != 1 || rows[0].Key != "e2e" || rows[0].Requests != 1 ||
		rows[0].InputTokens != int64(u.InputTokens) || rows[0].OutputTokens != int64(u.OutputTokens) {
		t.Errorf("usage counters after the first invocation: %+v, want one of key e2e, 1 request, %+v", rows, u)
	}

	// A wrong key: 401 in OpenAI's error shape, nothing sent upstream.
	p, body := streamed(t, fn, proxyEvent(t, "cgk_wrong_0123456789abcdef"))
	var e struct {
		Error struct{ Message, Type, Code string }
	}
	if err := json.Unmarshal(body, &e); err != nil || p.StatusCode != http.StatusUnauthorized ||
		e.Error.Code != "invalid_api_key" || e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
		t.Fatalf("bad key: prelude %+v, body %s (%v)", p, body, err)
	}

	// The backend revokes the cached access token: the warm container
	// refreshes once and retries.
	if err := w.Sim.ExpireAccessTokens("id-main"); err != nil {
		t.Fatal(err)
	}
	wantStream("after expiry")
	if st := w.Sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 0 {
		t.Errorf("simulator: %d refreshes, %d reuse rejections; want 1 and 0", st.Refreshes, st.ReuseRejections)
	}
}

// chatEvent is the shipped proxy event turned into a Chat Completions
// request, as an OpenAI SDK sends it through API Gateway.
func chatEvent(t *testing.T, key, body string) []byte {
	return shippedEvent(t, body, func(ev *events.APIGatewayProxyRequest) {
		ev.Path = "/v1/chat/completions"
		setHeaders(ev, map[string]string{"Authorization": "Bearer " + key, "User-Agent": "OpenAI/JS 6.49.0", "Accept": "application/json",
			"originator": "", "version": "", "session_id": "", "OpenAI-Beta": ""})
	})
}

// TestProxy_RIE_Chat sends one streaming and one non-streaming Chat
// Completions request to the proxy bootstrap under the RIE and checks the
// framing of both answers: chunks ending with [DONE], and one JSON object.
func TestProxy_RIE_Chat(t *testing.T) {
	_, fn, key := startProxy(t, "e2e-chat")

	p, body := streamed(t, fn, chatEvent(t, key,
		`{"model":"gpt-5.1-codex","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Say hi"}]}`))
	if p.StatusCode != http.StatusOK || !strings.HasPrefix(p.Headers["Content-Type"], "text/event-stream") {
		t.Fatalf("stream: prelude %+v, body %.300s", p, body)
	}
	events := strings.Split(strings.TrimSuffix(string(body), "\n\n"), "\n\n")
	var content strings.Builder
	sawUsage := false
	for i, ev := range events {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %d is not a data line: %q", i, ev)
		}
		if data == "[DONE]" {
			if i != len(events)-1 {
				t.Fatalf("[DONE] is event %d of %d", i, len(events))
			}
			continue
		}
		var ch struct {
			Object  string
			Choices []struct {
				Delta struct{ Content string }
			}
			Usage *struct {
				TotalTokens int `json:"total_tokens"`
			}
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil || ch.Object != "chat.completion.chunk" {
			t.Fatalf("event %d: %v %s", i, err, data)
		}
		for _, c := range ch.Choices {
			content.WriteString(c.Delta.Content)
		}
		sawUsage = sawUsage || (ch.Usage != nil && ch.Usage.TotalTokens > 0)
	}
	if events[len(events)-1] != "data: [DONE]" || content.String() != openaisim.DefaultAnswer || !sawUsage {
		t.Fatalf("stream: content %q, usage %v, body %s", content.String(), sawUsage, body)
	}

	p, body = streamed(t, fn, chatEvent(t, key, `{"model":"gpt-5.1-codex","messages":[{"role":"user","content":"Say hi"}]}`))
	var done struct {
		Object  string
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.Unmarshal(body, &done); err != nil || p.StatusCode != http.StatusOK || !strings.HasPrefix(p.Headers["Content-Type"], "application/json") ||
		done.Object != "chat.completion" || done.Choices[0].Message.Content != openaisim.DefaultAnswer || done.Choices[0].FinishReason != "stop" {
		t.Fatalf("non-streaming: prelude %+v, body %s (%v)", p, body, err)
	}
}

// messagesEvent is the shipped proxy event turned into Claude Code's
// request: POST /v1/messages?beta=true with an x-api-key and a streaming
// Messages body.
func messagesEvent(t *testing.T, key, body string) []byte {
	return shippedEvent(t, body, func(ev *events.APIGatewayProxyRequest) {
		setHeaders(ev, map[string]string{"Authorization": "", "x-api-key": key, "anthropic-version": "2023-06-01"})
		ev.Path = "/v1/messages"
		ev.RequestContext.Path = "/prod/v1/messages"
		ev.QueryStringParameters = map[string]string{"beta": "true"}
		ev.MultiValueQueryStringParameters = map[string][]string{"beta": {"true"}}
	})
}

// TestProxy_RIE_Messages: the proxy bootstrap under the RIE answers a
// streaming Messages request with Anthropic's event stream, framed intact
// through API Gateway's streaming prelude: every event whole, in order,
// message_start first and message_stop last; and a wrong key gets
// Anthropic's 401 shape.
func TestProxy_RIE_Messages(t *testing.T) {
	_, fn, key := startProxy(t, "e2e")

	const body = `{"model":"claude-opus-5-5","max_tokens":1024,"stream":true,"system":"Be brief.","messages":[{"role":"user","content":"Say hi"}]}`
	p, out := streamed(t, fn, messagesEvent(t, key, body))
	wantEventStream(t, "stream", p, out)
	if !bytes.HasSuffix(out, []byte("\n\n")) {
		t.Fatalf("stream does not end on an event boundary: %q", out)
	}
	var names []string
	text := ""
	for _, ev := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
		name, data, ok := strings.Cut(ev, "\ndata: ")
		name, nameOK := strings.CutPrefix(name, "event: ")
		var d struct {
			Type  string
			Delta struct{ Text string }
		}
		if !ok || !nameOK || json.Unmarshal([]byte(data), &d) != nil || d.Type != name {
			t.Fatalf("broken event %q in\n%s", ev, out)
		}
		names = append(names, name)
		text += d.Delta.Text
	}
	if names[0] != "message_start" || names[len(names)-1] != "message_stop" || text != openaisim.DefaultAnswer {
		t.Fatalf("events %v, text %q", names, text)
	}

	p, out = streamed(t, fn, messagesEvent(t, "cgk_wrong_0123456789abcdef", body))
	var e struct {
		Type  string
		Error struct{ Type, Message string }
	}
	if err := json.Unmarshal(out, &e); err != nil || p.StatusCode != http.StatusUnauthorized || e.Type != "error" || e.Error.Type != "authentication_error" {
		t.Fatalf("bad key: prelude %+v, body %s (%v)", p, out, err)
	}
}
