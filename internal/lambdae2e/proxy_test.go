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
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/rie"
	"github.com/codexgate/codexgate/shared/statestore"
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

func TestProxy_RIE(t *testing.T) {
	bin := findRIE(t)
	w := newWorld(t, time.Hour)
	boot := bootstrap(t, "proxy")
	w.Login(t, "main", "id-main", 0)
	key, _, err := statestore.New(dynamodb.NewFromConfig(w.AWS), w.Table).CreateKey(context.Background(), "e2e")
	if err != nil {
		t.Fatal(err)
	}
	// Lambda tells the function its size: at 256 MB, a seventh of a vCPU,
	// the bootstrap runs one P (lambdacpu).
	fn := startLambda(t, bin, boot, append(slices.Clone(w.env), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256"))

	wantStream := func(step string) {
		t.Helper()
		p, body := streamed(t, fn, proxyEvent(t, key))
		h := http.Header{}
		for k, v := range p.Headers {
			h.Set(k, v)
		}
		if p.StatusCode != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("%s: prelude %+v, want 200 text/event-stream; body %.300s", step, p, body)
		}
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
