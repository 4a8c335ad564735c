//go:build linux

package lambdae2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// TestProxy_RIE_PausedAndSuffix: the proxy bootstrap under the RIE, with
// fill-first routing, skips a paused account (the first by name) and sends
// a request for gpt-5.1-codex-high upstream as gpt-5.1-codex at effort high.
func TestProxy_RIE_PausedAndSuffix(t *testing.T) {
	bin := findRIE(t)
	w := newWorld(t, time.Hour)
	boot := bootstrap(t, "proxy")
	w.Login(t, "a", "id-a", 0)
	w.Login(t, "b", "id-b", 0)
	ctx := context.Background()
	if err := w.states.SetPaused(ctx, "a", true); err != nil {
		t.Fatal(err)
	}
	key, _, err := w.states.CreateKey(ctx, "e2e-routing")
	if err != nil {
		t.Fatal(err)
	}
	fn := startLambda(t, bin, boot, append(w.env, "CODEXGATE_ROUTING_STRATEGY=fill-first"))
	body := strings.Replace(responsesBody, `"model":"gpt-5.1-codex"`, `"model":"gpt-5.1-codex-high"`, 1)
	for range 2 {
		p, out := streamed(t, fn, shippedEvent(t, body, func(ev *events.APIGatewayProxyRequest) {
			setHeaders(ev, map[string]string{"Authorization": "Bearer " + key})
		}))
		if p.StatusCode != http.StatusOK || !strings.Contains(string(out), "response.completed") {
			t.Fatalf("prelude %+v, body %.300s", p, out)
		}
	}
	st := w.Sim.Stats()
	if st.Accounts["id-a"].ResponsesOK != 0 || st.Accounts["id-b"].ResponsesOK != 2 {
		t.Errorf("served: a %d, b %d; want only b (a paused)", st.Accounts["id-a"].ResponsesOK, st.Accounts["id-b"].ResponsesOK)
	}
	if st.LastModel != "gpt-5.1-codex" || st.LastEffort != "high" {
		t.Errorf("upstream got %q at %q, want gpt-5.1-codex at high", st.LastModel, st.LastEffort)
	}
}
