package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
)

// MessagesBody is RequestBody as Claude Code would send it to the Messages
// front: the same instructions and user text, streamed.
const MessagesBody = `{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"system":"You are Codex.","messages":[{"role":"user","content":[{"type":"text","text":"Say hello."}]}]}`

// MessagesName is the Messages front's row in the overhead table.
const MessagesName = "codexgate serve /v1/messages"

// MessagesTarget posts MessagesBody to `codexgate serve`'s Messages front
// with a client key, as the Anthropic SDKs do (x-api-key).
func MessagesTarget(c *http.Client, base, key string) Target {
	return Target{Name: MessagesName, Do: func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/messages", bytes.NewReader([]byte(MessagesBody)))
		req.Header.Set("x-api-key", key)
		req.Header.Set("anthropic-version", "2023-06-01")
		req.Header.Set("Content-Type", "application/json")
		return do(c, req, func(b []byte) error {
			if !bytes.HasSuffix(b, []byte("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")) {
				return fmt.Errorf("messages stream did not end with message_stop: %.200s", strings.TrimSpace(string(b)))
			}
			return nil
		})
	}}
}
