//go:build linux

package lambdae2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/codexgate/codexgate/shared/statestore"
)

// TestProxy_RIE_KeyModels: the proxy bootstrap under the RIE reads a key's
// model allow-list with the key and refuses a model off it in each front's
// shape (OpenAI's 403 model_not_allowed, Anthropic's permission_error for
// the Codex model a Claude name maps to), while the allowed one streams.
func TestProxy_RIE_KeyModels(t *testing.T) {
	w, fn, key := startProxy(t, "one-model")
	models := []string{"gpt-5.1-codex"}
	if err := w.states.UpdateKey(context.Background(), "one-model", statestore.KeyChange{Models: &models}); err != nil {
		t.Fatal(err)
	}

	p, out := streamed(t, fn, chatEvent(t, key, `{"model":"gpt-5.1-codex","stream":true,"messages":[{"role":"user","content":"Say hi"}]}`))
	if p.StatusCode != http.StatusOK || !strings.HasSuffix(string(out), "data: [DONE]\n\n") {
		t.Fatalf("allowed model: prelude %+v, body %.300s", p, out)
	}

	p, out = streamed(t, fn, chatEvent(t, key, `{"model":"gpt-5.1-codex-mini","stream":true,"messages":[{"role":"user","content":"Say hi"}]}`))
	var oe struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(out, &oe); err != nil || p.StatusCode != http.StatusForbidden || oe.Error.Code != "model_not_allowed" ||
		!strings.Contains(oe.Error.Message, "gpt-5.1-codex-mini") {
		t.Fatalf("chat, model off the list: prelude %+v, body %s (%v)", p, out, err)
	}

	p, out = streamed(t, fn, messagesEvent(t, key, `{"model":"claude-haiku-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Say hi"}]}`))
	var ae struct {
		Type  string
		Error struct{ Type, Message string }
	}
	if err := json.Unmarshal(out, &ae); err != nil || p.StatusCode != http.StatusForbidden || ae.Type != "error" || ae.Error.Type != "permission_error" {
		t.Fatalf("messages, model off the list: prelude %+v, body %s (%v)", p, out, err)
	}
}
