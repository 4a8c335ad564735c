//go:build linux

package lambdae2e

import (
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
	bin := findRIE(t)
	w := newWorld(t, time.Hour)
	boot := bootstrap(t, "proxy")
	w.Login(t, "main", "id-main", 0)
	key, _, err := statestore.New(dynamodb.NewFromConfig(w.AWS), w.Table).CreateKey(context.Background(), "e2e-chat")
	if err != nil {
		t.Fatal(err)
	}
	fn := startLambda(t, bin, boot, w.env)

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
