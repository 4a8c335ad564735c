// Package simworld gives integration tests an isolated world to refresh in:
// a private table and secret prefix on the local AWS stack (moto), the strict
// OpenAI simulator, and Refreshers wired to them, one per simulated Lambda
// container. The refresh routine's tests, the scheduled functions' tests and
// the reliability matrix share it.
package simworld

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
	"github.com/codexgate/codexgate/shared/config"
)

// World is one isolated setup. Its fields are read-only after New.
type World struct {
	AWS     aws.Config
	Table   string
	Prefix  string
	Sim     *openaisim.Sim
	URL     string // the simulator's base URL
	Secrets *secretstore.Store
}

// New creates the table, prefix and simulator; all are removed when t ends.
// Without the local stack it skips t (fails it with CI=true).
func New(t testing.TB, opts openaisim.Options) *World {
	t.Helper()
	cfg := testsupport.AWSConfig(t)
	w := &World{AWS: cfg, Table: testsupport.NewTable(t, cfg), Prefix: testsupport.SecretPrefix(t), Sim: openaisim.New(opts)}
	srv := httptest.NewServer(w.Sim)
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	w.Secrets = secretstore.New(secretsmanager.NewFromConfig(cfg), w.Prefix)
	return w
}

// TokenURL is the simulator's token endpoint (CODEXGATE_TOKEN_URL).
func (w *World) TokenURL() string { return w.URL + "/oauth/token" }

// UsageURL is the simulator's usage endpoint (CODEXGATE_USAGE_URL).
func (w *World) UsageURL() string { return w.URL + "/backend-api/wham/usage" }

// Import stores tok's auth.json as account's secret and registers the
// account in the table, as `codexgate import` does.
func (w *World) Import(t testing.TB, account string, tok openaisim.Tokens) *codex.AuthFile {
	t.Helper()
	a, err := codex.ParseAuthFile(account, w.Sim.AuthJSON(tok))
	if err != nil {
		t.Fatal(err)
	}
	app := w.App(nil, nil)
	if _, err := app.Refresher.Replace(context.Background(), account, a, codex.ReplaceOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := app.States.Register(context.Background(), account); err != nil {
		t.Fatal(err)
	}
	return a
}

// WithStaleReads moves the world's secrets under a name the local stack
// serves stale AWSCURRENT reads for (a few seconds after each change of
// AWSCURRENT, see scripts/moto-serial.py), as AWS may. Call it before any
// import.
func (w *World) WithStaleReads() *World {
	w.Prefix += "stale-reads/"
	w.Secrets = secretstore.New(secretsmanager.NewFromConfig(w.AWS), w.Prefix)
	return w
}

// Login starts a new login for ChatGPT account id whose tokens were issued
// age ago, and imports it as account.
func (w *World) Login(t testing.TB, account, id string, age time.Duration) openaisim.Tokens {
	t.Helper()
	w.Sim.Advance(-age)
	tok := w.Sim.AddAccount(openaisim.Account{ID: id, Plan: "plus"})
	w.Sim.Advance(age)
	w.Import(t, account, tok)
	return tok
}

// ImportExpiring imports an account whose access token has 2 minutes left
// of the simulator's default hour: inside the refresh skew, so every caller
// must refresh or adopt a refresh.
func (w *World) ImportExpiring(t testing.TB, account, id string) openaisim.Tokens {
	t.Helper()
	return w.Login(t, account, id, 58*time.Minute)
}

// Config is the world as codexgate's configuration (what the environment
// of a process in it says).
func (w *World) Config() config.Config {
	return config.Config{
		Table:        w.Table,
		SecretPrefix: w.Prefix,
		UpstreamURL:  w.URL + "/backend-api/codex",
		TokenURL:     w.TokenURL(),
		UsageURL:     w.UsageURL(),
		AuthorizeURL: w.URL + "/oauth/authorize",
	}
}

// App wires one container's parts the way every main does (app.New) over
// cfg (nil: the world's plain AWS config); lease, when set, wraps its
// lease. Logs are discarded unless opts set a logger.
func (w *World) App(cfg *aws.Config, lease func(codex.Leaser) codex.Leaser, opts ...codex.Option) *app.App {
	c := w.AWS
	if cfg != nil {
		c = *cfg
	}
	a, err := app.New(context.Background(), w.Config(), app.Options{
		AWS:              &c,
		Logger:           slog.New(slog.DiscardHandler),
		RefresherOptions: opts,
	})
	if err != nil {
		panic(fmt.Sprintf("simworld: wire app: %v", err)) // app.New fails only on AWS config loading, which cfg skips
	}
	if lease != nil {
		a.Refresher = a.NewRefresher(lease(a.Leases), opts...)
	}
	return a
}

// Refresher is one container's refresh routine: its own cache and clients.
func (w *World) Refresher(cfg *aws.Config, opts ...codex.Option) *codex.Refresher {
	return w.App(cfg, nil, opts...).Refresher
}
