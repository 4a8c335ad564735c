package scheduled

// Integration fixtures: moto (Secrets Manager, DynamoDB) and the strict
// simulator, with one Refresher per simulated Lambda container.

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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
	"github.com/codexgate/codexgate/shared/statestore"
	"github.com/codexgate/codexgate/shared/usage"
)

var quiet = slog.New(slog.DiscardHandler)

type stack struct {
	t       *testing.T
	aws     aws.Config
	table   string
	prefix  string
	sim     *openaisim.Sim
	simURL  string
	secrets *secretstore.Store
	states  *statestore.Store
	offset  atomic.Int64 // simulator clock offset, ns
}

func newStack(t *testing.T, accessTTL time.Duration) *stack {
	t.Helper()
	cfg := testsupport.AWSConfig(t)
	s := &stack{t: t, aws: cfg, table: testsupport.NewTable(t, cfg), prefix: testsupport.SecretPrefix(t)}
	s.sim = openaisim.New(openaisim.Options{
		AccessTTL: accessTTL,
		Clock:     func() time.Time { return time.Now().Add(time.Duration(s.offset.Load())) },
	})
	srv := httptest.NewServer(s.sim)
	t.Cleanup(srv.Close)
	s.simURL = srv.URL
	s.secrets = secretstore.New(secretsmanager.NewFromConfig(cfg), s.prefix)
	s.states = statestore.New(dynamodb.NewFromConfig(cfg), s.table)
	return s
}

// addAccount logs name in as a new simulator account whose tokens were
// issued age ago, and stores its auth.json as the account's secret.
func (s *stack) addAccount(name string, age time.Duration) openaisim.Tokens {
	s.t.Helper()
	s.offset.Store(int64(-age))
	tok := s.sim.AddAccount(openaisim.Account{ID: "id-" + name, Plan: "plus"})
	s.offset.Store(0)
	auth, err := codex.ParseAuthFile(name, s.sim.AuthJSON(tok))
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.secrets.Put(context.Background(), name, auth); err != nil {
		s.t.Fatal(err)
	}
	s.touchLease(codex.LeaseKey(name, auth))
	return tok
}

// touchLease creates the account's lease item, as the first refresh in
// production leaves it (lease items are never deleted). moto does not apply
// a conditional UpdateItem atomically when the item does not exist yet: two
// concurrent first acquires can both succeed there (never on DynamoDB), and
// the fence then fails one holder with ErrLeaseLost before it refreshes.
func (s *stack) touchLease(key string) {
	s.t.Helper()
	ctx := context.Background()
	leaser := dynamolease.New(dynamodb.NewFromConfig(s.aws), s.table)
	l, err := leaser.Acquire(ctx, key, "test-setup", time.Minute)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := leaser.Release(ctx, l, codex.Release{}); err != nil {
		s.t.Fatal(err)
	}
}

// putRaw stores data as name's secret as is (a broken import).
func (s *stack) putRaw(name, data string) {
	s.t.Helper()
	_, err := secretsmanager.NewFromConfig(s.aws).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(s.prefix + name), SecretString: aws.String(data),
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// container is one simulated Lambda container: its own clients and Refresher.
func (s *stack) container() *codex.Refresher {
	store := secretstore.New(secretsmanager.NewFromConfig(s.aws), s.prefix)
	leaser := dynamolease.New(dynamodb.NewFromConfig(s.aws), s.table)
	oauth := &codex.OAuthClient{TokenURL: s.simURL + "/oauth/token", HTTPClient: &http.Client{Timeout: 10 * time.Second}}
	return codex.NewRefresher(store, leaser, oauth, codex.WithLogger(quiet), codex.WithAccountStates(s.states))
}

func (s *stack) usage() *usage.Client {
	return &usage.Client{URL: s.simURL + "/backend-api/wham/usage"}
}

func (s *stack) current(name string) codex.Version {
	s.t.Helper()
	v, err := s.secrets.LoadCurrent(context.Background(), name)
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// state and quota read the account's stored state and snapshot.
func (s *stack) state(name string) statestore.AccountState {
	s.t.Helper()
	snap, err := s.states.Load(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return snap.States[name]
}

func (s *stack) quota(name string) statestore.QuotaSnapshot {
	s.t.Helper()
	snap, err := s.states.Load(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return snap.Quotas[name]
}

func (s *stack) mark(name string) {
	s.t.Helper()
	if err := s.states.MarkReauthRequired(context.Background(), name, "refresh_token_reused"); err != nil {
		s.t.Fatal(err)
	}
}
