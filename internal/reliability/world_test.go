package reliability

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
	"github.com/codexgate/codexgate/shared/codex/openaisim"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
)

// Refresher timeouts for the run: a killed holder's lease runs out in
// seconds (production: OAuth 20 s-ish, lease 45 s).
const (
	oauthTimeout   = 2 * time.Second
	persistTimeout = 2 * time.Second
	leaseTTL       = 7 * time.Second
)

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// world is one isolated setup: a table, a secret prefix, a simulator.
type world struct {
	cfg           aws.Config
	table, prefix string
	sim           *openaisim.Sim
	url           string
	secrets       *secretstore.Store
}

func newWorld(t *testing.T) *world {
	t.Helper()
	cfg := testsupport.AWSConfig(t)
	w := &world{cfg: cfg, table: testsupport.NewTable(t, cfg), prefix: testsupport.SecretPrefix(t), sim: openaisim.New(openaisim.Options{})}
	srv := httptest.NewServer(w.sim)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	w.secrets = secretstore.New(secretsmanager.NewFromConfig(cfg), w.prefix)
	return w
}

// importExpiring stores an account whose access token expires within the
// refresh skew: the next caller must refresh.
func (w *world) importExpiring(t *testing.T, account, id string) {
	t.Helper()
	w.sim.Advance(-58 * time.Minute)
	tok := w.sim.AddAccount(openaisim.Account{ID: id})
	w.sim.Advance(58 * time.Minute)
	a, err := codex.ParseAuthFile(account, w.sim.AuthJSON(tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.secrets.Put(context.Background(), account, a); err != nil {
		t.Fatal(err)
	}
}

// refresher is one container's Refresher; cfg nil means plain clients.
func (w *world) refresher(cfg *aws.Config) *codex.Refresher {
	c := w.cfg
	if cfg != nil {
		c = *cfg
	}
	return codex.NewRefresher(
		secretstore.New(secretsmanager.NewFromConfig(c), w.prefix),
		dynamolease.New(dynamodb.NewFromConfig(c), w.table),
		&codex.OAuthClient{TokenURL: w.url + "/oauth/token"},
		codex.WithLogger(discard()), codex.WithTimeouts(oauthTimeout, persistTimeout, leaseTTL))
}

// probe is the tokens-lost check: a fresh container forces a refresh from
// what is stored. It returns 1 when that ends in reauth_required (the login
// is gone), and the probe's own error otherwise.
func (w *world) probe(account string) (lost int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r := w.refresher(nil)
	c, err := r.AccessToken(ctx, account, codex.AccessOptions{})
	if errors.Is(err, codex.ErrReauthRequired) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	_, err = r.AccessToken(ctx, account, codex.AccessOptions{Force: true, Rejected: c.Access})
	if errors.Is(err, codex.ErrReauthRequired) {
		return 1, nil
	}
	return 0, err
}

// child returns the command for one container process (this test binary
// re-executed in child mode).
func (w *world) child(mode string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		"CODEXGATE_RELIABILITY_CHILD="+mode,
		"CODEXGATE_TABLE="+w.table,
		"CODEXGATE_SECRET_PREFIX="+w.prefix,
		"CODEXGATE_SIM_URL="+w.url,
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	return cmd
}
