package scheduled

// Integration fixtures: moto (Secrets Manager, DynamoDB) and the strict
// simulator, with one Refresher per simulated Lambda container.

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/simworld"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/statestore"
	"github.com/codexgate/codexgate/shared/usage"
)

var quiet = slog.New(slog.DiscardHandler)

type stack struct {
	*simworld.World
	t      *testing.T
	states *statestore.Store
}

func newStack(t *testing.T, accessTTL time.Duration) *stack {
	t.Helper()
	w := simworld.New(t, openaisim.Options{AccessTTL: accessTTL})
	return &stack{World: w, t: t, states: statestore.New(dynamodb.NewFromConfig(w.AWS), w.Table)}
}

// addAccount logs name in as a new simulator account whose tokens were
// issued age ago, and stores its auth.json as the account's secret.
func (s *stack) addAccount(name string, age time.Duration) openaisim.Tokens {
	s.t.Helper()
	return s.Login(s.t, name, "id-"+name, age)
}

// putRaw stores data as name's secret as is (a broken import).
func (s *stack) putRaw(name, data string) {
	s.t.Helper()
	_, err := secretsmanager.NewFromConfig(s.AWS).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(s.Prefix + name), SecretString: aws.String(data),
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// container is one simulated Lambda container: its own clients and Refresher.
func (s *stack) container() *codex.Refresher {
	return s.Refresher(nil, codex.WithAccountStates(s.states))
}

func (s *stack) usage() *usage.Client {
	return &usage.Client{URL: s.UsageURL()}
}

func (s *stack) current(name string) codex.Version {
	s.t.Helper()
	v, err := s.Secrets.LoadCurrent(context.Background(), name)
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
