package lambdaproxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/lambdaproxy"
	"github.com/codexgate/codexgate/shared/proxy"
)

type staticTokens map[string]codex.Credentials

func (s staticTokens) AccessToken(_ context.Context, account string, _ codex.AccessOptions) (codex.Credentials, error) {
	return s[account], nil
}

type oneAccount struct{}

func (oneAccount) List(context.Context) ([]string, error) { return []string{"main"}, nil }

// TestHandler_Proxy runs the Lambda path end to end in process: the REST
// fixture event → lambdaproxy → proxy → simulator, and checks the streamed
// SSE answer after the prelude.
func TestHandler_Proxy(t *testing.T) {
	sim := openaisim.New(openaisim.Options{})
	up := httptest.NewServer(sim)
	defer up.Close()
	tok := sim.AddAccount(openaisim.Account{ID: "acct-main"})
	p, err := proxy.New(proxy.Config{
		UpstreamURL: up.URL + "/backend-api/codex",
		Tokens:      staticTokens{"main": {Access: tok.AccessToken, AccountID: tok.AccountID}},
		Keys: proxy.KeyVerifierFunc(func(_ context.Context, key string) (string, error) {
			if key != "cgk_example_0123456789abcdef" {
				return "", proxy.ErrInvalidKey
			}
			return "fixture", nil
		}),
		Accounts: oneAccount{},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"rest-responses.json", "rest-responses-base64.json"} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayProxyRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			resp, err := lambdaproxy.Handler(p)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Close()
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Headers["Content-Type"], "text/event-stream") {
				t.Fatalf("response %d %v", resp.StatusCode, resp.Headers)
			}
			all, err := io.ReadAll(resp)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(all, make([]byte, 8))
			if i < 0 || !json.Valid(all[:i]) {
				t.Fatalf("no prelude: %q", all)
			}
			var text strings.Builder
			completed := false
			sc := bufio.NewScanner(bytes.NewReader(all[i+8:]))
			for sc.Scan() {
				data, ok := strings.CutPrefix(sc.Text(), "data: ")
				if !ok {
					continue
				}
				var ev struct{ Type, Delta string }
				json.Unmarshal([]byte(data), &ev)
				text.WriteString(ev.Delta)
				completed = completed || ev.Type == "response.completed"
			}
			if !completed || text.String() != openaisim.DefaultAnswer {
				t.Errorf("answer %q completed=%v\n%s", text.String(), completed, all[i+8:])
			}
		})
	}
}
