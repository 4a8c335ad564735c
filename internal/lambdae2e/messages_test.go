//go:build linux

package lambdae2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/statestore"
)

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
	bin := findRIE(t)
	w := newWorld(t, time.Hour)
	boot := bootstrap(t, "proxy")
	w.Login(t, "main", "id-main", 0)
	key, _, err := statestore.New(dynamodb.NewFromConfig(w.AWS), w.Table).CreateKey(context.Background(), "e2e")
	if err != nil {
		t.Fatal(err)
	}
	fn := startLambda(t, bin, boot, w.env)

	const body = `{"model":"claude-opus-5-5","max_tokens":1024,"stream":true,"system":"Be brief.","messages":[{"role":"user","content":"Say hi"}]}`
	p, out := streamed(t, fn, messagesEvent(t, key, body))
	h := http.Header{}
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	if p.StatusCode != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("prelude %+v, want 200 text/event-stream; body %.300s", p, out)
	}
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
