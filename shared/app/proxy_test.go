package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/config"
)

// TestApp_Proxy_ServesWithListSecretsFailing: with ListSecrets failing on
// every call (the functions may not call it any more), proxy containers
// wired as the Lambda function wires them list the accounts from the
// table's registry and serve; none of them calls ListSecrets.
func TestApp_Proxy_ServesWithListSecretsFailing(t *testing.T) {
	awsCfg := testsupport.AWSConfig(t)
	faults := awsfault.New(nil)
	faults.Inject("ListSecrets", awsfault.Fault{Action: awsfault.Refuse})
	awsCfg = awsfault.NoRetries(faults.Wrap(awsCfg))
	sim := openaisim.New(openaisim.Options{})
	up := httptest.NewServer(sim)
	t.Cleanup(up.Close)
	cfg := config.Defaults
	cfg.Table = testsupport.NewTable(t, awsCfg)
	cfg.SecretPrefix = testsupport.SecretPrefix(t)
	cfg.UpstreamURL, cfg.TokenURL = up.URL+"/backend-api/codex", up.URL+"/oauth/token"
	ctx := context.Background()
	container := func() *App {
		a, err := New(ctx, cfg, Options{AWS: &awsCfg, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	// What `codexgate import` does (storeLogin): store, then register.
	cli := container()
	for _, name := range []string{"kim", "lee"} {
		auth, err := codex.ParseAuthFile(name, sim.AuthJSON(sim.AddAccount(openaisim.Account{Name: name})))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Refresher.Replace(ctx, name, auth, codex.ReplaceOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cli.States.Register(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	key, _, err := cli.States.CreateKey(ctx, "laptop")
	if err != nil {
		t.Fatal(err)
	}

	for i := range 3 {
		p, err := container().Proxy()
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(p)
		for range 2 {
			testsupport.WantTurn(t, srv, key, fmt.Sprintf("container %d", i))
		}
		if err := p.Wait(ctx); err != nil {
			t.Error(err)
		}
		srv.Close()
	}
	if n := faults.Count("ListSecrets"); n != 0 {
		t.Errorf("%d ListSecrets calls, want none", n)
	}
}
