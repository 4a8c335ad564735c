//go:build linux

package lambdae2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/codexgate/codexgate/shared/console"
)

// consoleEvent is the shipped event made a GET of path (API Gateway's
// /status route, or /v1/admin/status under /{proxy+}) with key.
func consoleEvent(t *testing.T, path, key string) []byte {
	return shippedEvent(t, "", func(ev *events.APIGatewayProxyRequest) {
		ev.HTTPMethod, ev.Path = http.MethodGet, path
		if path == console.PathPage {
			ev.Resource = console.PathPage
		}
		setHeaders(ev, map[string]string{"Authorization": "Bearer " + key, "Content-Type": "", "Accept": ""})
	})
}

// TestConsole_RIE: the proxy bootstrap serves the operator console as API
// Gateway delivers it: the page on /status, the status JSON to an admin
// key only, with the function's memory size.
func TestConsole_RIE(t *testing.T) {
	w, fn, client := startProxy(t, "e2e", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256")
	admin, _, err := w.states.CreateAdminKey(context.Background(), "ops")
	if err != nil {
		t.Fatal(err)
	}

	p, body := streamed(t, fn, consoleEvent(t, console.PathPage, ""))
	if p.StatusCode != http.StatusOK || !strings.HasPrefix(p.Headers["Content-Type"], "text/html") ||
		!strings.Contains(p.Headers["Content-Security-Policy"], "default-src 'none'") || !strings.Contains(string(body), "v1/admin/status") {
		t.Fatalf("GET /status: prelude %+v, body %.200s", p, body)
	}

	p, body = streamed(t, fn, consoleEvent(t, console.PathStatus, client))
	if p.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "permission_denied") {
		t.Errorf("client key: prelude %+v, body %s", p, body)
	}

	p, body = streamed(t, fn, consoleEvent(t, console.PathStatus, admin))
	var st console.Status
	if p.StatusCode != http.StatusOK || json.Unmarshal(body, &st) != nil {
		t.Fatalf("admin key: prelude %+v, body %.500s", p, body)
	}
	if len(st.Accounts) != 1 || st.Accounts[0].Name != "main" || st.Deployment.Runtime != "lambda" ||
		st.Deployment.MemoryMB != "256" || st.Deployment.Region != w.AWS.Region {
		t.Errorf("status: %s", body)
	}
	if strings.Contains(string(body), admin) || strings.Contains(string(body), client) {
		t.Errorf("status carries a key: %s", body)
	}
}
