package bench

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/config"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/proxy/awsstores"
)

// AWSCalls are the AWS calls the proxy makes, counted at the SDK's HTTP
// layer (retries included).
type AWSCalls struct {
	WarmRequests int
	WarmCalls    int
	WarmByOp     map[string]int
	Refreshes    int // forced by an upstream 401 (sim ExpireAccessTokens)
	RefreshCalls int // for all Refreshes together, the replayed request included
	RefreshByOp  map[string]int
	SimRefreshes int
	SimReuse     int
}

// CountAWSCalls wires the proxy in process exactly as functions/proxy does
// (app.New + proxy.New + awsstores), with every AWS call going through a
// counting transport, and counts calls per warm request and per refresh.
func CountAWSCalls(ctx context.Context, cfg aws.Config, table string, warm, refreshes int) (*AWSCalls, error) {
	sim := openaisim.New(openaisim.Options{})
	simSrv := httptest.NewServer(sim)
	defer simSrv.Close()

	tr := awsfault.New(nil)
	counted := tr.Wrap(cfg)
	ten, err := NewTenant(ctx, cfg, table, "calls", []string{"main"}, func(id string) ([]byte, error) {
		return sim.AuthJSON(sim.AddAccount(openaisim.Account{ID: id})), nil
	})
	if err != nil {
		return nil, err
	}
	defer ten.Cleanup(ctx, cfg)
	log := slog.New(slog.DiscardHandler)
	a, err := app.New(ctx, config.Config{
		Table: table, SecretPrefix: ten.Prefix,
		UpstreamURL: simSrv.URL + "/backend-api/codex", TokenURL: simSrv.URL + "/oauth/token", UsageURL: simSrv.URL + "/backend-api/wham/usage",
	}, app.Options{AWS: &counted, Logger: log})
	if err != nil {
		return nil, err
	}
	p, err := proxy.New(proxy.Config{
		UpstreamURL: a.Config.UpstreamURL, Tokens: a.Refresher,
		Keys: awsstores.Keys{Store: a.States}, Accounts: a.Secrets, States: awsstores.States{Store: a.States},
		Transport: a.HTTP.Transport, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	c := client()
	do := ServeTarget(c, srv.URL, ten.Key).Do
	for range 5 { // cold: list accounts, load states, verify the key, read the secret
		if err := do(ctx); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	out := &AWSCalls{WarmRequests: warm, Refreshes: refreshes}
	tr.Reset()
	if s := Run(ctx, 1, warm, do); s.Errors > 0 {
		return nil, fmt.Errorf("warm requests: %d failed: %w", s.Errors, s.FirstErr)
	}
	out.WarmCalls, out.WarmByOp = tr.Total(), tr.Counts()

	sim.ResetStats()
	tr.Reset()
	for range refreshes {
		if err := sim.ExpireAccessTokens(ten.IDs["main"]); err != nil {
			return nil, err
		}
		if err := do(ctx); err != nil {
			return nil, fmt.Errorf("request after expiry: %w", err)
		}
	}
	out.RefreshCalls, out.RefreshByOp = tr.Total(), maps.Clone(tr.Counts())
	st := sim.Stats()
	out.SimRefreshes, out.SimReuse = st.Refreshes, st.ReuseRejections
	return out, nil
}
