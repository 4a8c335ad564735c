package statestore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

// registryEnv is a table and a secret prefix on the local stack, with
// ListSecrets failing on every call: the registry must never need it.
type registryEnv struct {
	store   *statestore.Store
	secrets *secretstore.Store
	faults  *awsfault.Transport
	sim     *openaisim.Sim
}

func newRegistryEnv(t *testing.T) *registryEnv {
	t.Helper()
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	faults := awsfault.New(nil)
	faults.Inject("ListSecrets", awsfault.Fault{Action: awsfault.Refuse})
	wrapped := awsfault.NoRetries(faults.Wrap(cfg))
	return &registryEnv{
		store:   statestore.New(dynamodb.NewFromConfig(wrapped), table),
		secrets: secretstore.New(secretsmanager.NewFromConfig(wrapped), testsupport.SecretPrefix(t)),
		faults:  faults,
		sim:     openaisim.New(openaisim.Options{}),
	}
}

// secret stores a login as account's secret, as an older codexgate did
// (no registry item).
func (e *registryEnv) secret(t *testing.T, account string) {
	t.Helper()
	tok := e.sim.AddAccount(openaisim.Account{Name: account})
	a, err := codex.ParseAuthFile(account, e.sim.AuthJSON(tok))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.secrets.Create(context.Background(), account, "v1-"+account+"-00000000000000000000000000000000", a); err != nil {
		t.Fatal(err)
	}
}

// TestRegistry_List_BackfillOnce: a deployment from before the registry
// (secrets, state and quota items, no registry) upgrades by itself: the
// first List registers every account the partition knows whose secret
// exists (not one without a secret, nor one scheduled for deletion), sets
// the marker, and never backfills again, so a removal stays removed.
func TestRegistry_List_BackfillOnce(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	for _, name := range []string{"kim", "lee", "old"} {
		e.secret(t, name)
	}
	if _, err := e.secrets.ScheduleDelete(ctx, "old", 7); err != nil {
		t.Fatal(err)
	}
	// What an older codexgate left: kim marked (an import's state item),
	// lee polled (a quota item), old and gone (no secret) known too.
	for _, name := range []string{"kim", "old", "gone"} {
		if err := e.store.ClearReauth(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.PutQuota(ctx, statestore.QuotaSnapshot{Account: "lee", Snapshot: quota.Snapshot{Plan: "plus", FetchedAt: t0}}); err != nil {
		t.Fatal(err)
	}
	reg := statestore.Registry{Store: e.store, Secrets: e.secrets}
	got, err := reg.List(ctx)
	if err != nil || !slices.Equal(got, []string{"kim", "lee"}) {
		t.Fatalf("first List = %v, %v; want [kim lee]", got, err)
	}
	snap, err := e.store.Load(ctx)
	if err != nil || !snap.Backfilled || !slices.Equal(snap.Registered, []string{"kim", "lee"}) {
		t.Fatalf("after backfill: registered %v, marker %v, err %v", snap.Registered, snap.Backfilled, err)
	}
	// Once: a removed account is not brought back, and a List is one Query.
	if err := e.store.Deregister(ctx, "kim"); err != nil {
		t.Fatal(err)
	}
	e.faults.Reset()
	if got, err := reg.List(ctx); err != nil || !slices.Equal(got, []string{"lee"}) {
		t.Errorf("List after removing kim = %v, %v; want [lee]", got, err)
	}
	if n := e.faults.Total(); n != 1 || e.faults.Count("Query") != 1 {
		t.Errorf("a List made %v, want one Query", e.faults.Counts())
	}
	if e.faults.Count("ListSecrets") != 0 {
		t.Error("the registry called ListSecrets")
	}
}

// TestRegistry_List_BackfillRetried: a backfill whose secret check fails
// serves what is registered, sets no marker, and finishes on a later List.
func TestRegistry_List_BackfillRetried(t *testing.T) {
	e := newRegistryEnv(t)
	ctx := context.Background()
	for _, name := range []string{"kim", "lee"} {
		e.secret(t, name)
		if err := e.store.ClearReauth(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.Register(ctx, "new"); err != nil { // a login by the new CLI, before any function ran
		t.Fatal(err)
	}
	e.faults.Inject("DescribeSecret", awsfault.Fault{Action: awsfault.Refuse})
	reg := statestore.Registry{Store: e.store, Secrets: e.secrets}
	if got, err := reg.List(ctx); err != nil || !slices.Equal(got, []string{"new"}) {
		t.Fatalf("List with DescribeSecret failing = %v, %v; want [new]", got, err)
	}
	if snap, _ := e.store.Load(ctx); snap.Backfilled {
		t.Fatal("marker set by a failed backfill")
	}
	e.faults.Clear("DescribeSecret")
	if got, err := reg.List(ctx); err != nil || !slices.Equal(got, []string{"kim", "lee", "new"}) {
		t.Fatalf("List after recovery = %v, %v; want [kim lee new]", got, err)
	}
	if snap, _ := e.store.Load(ctx); !snap.Backfilled {
		t.Error("no marker after a complete backfill")
	}
}

// TestStore_Deregister_Idempotent: removing an unknown account is no error.
func TestStore_Deregister_Idempotent(t *testing.T) {
	e := newRegistryEnv(t)
	if err := e.store.Deregister(context.Background(), "nobody"); err != nil {
		t.Errorf("Deregister(nobody) = %v", err)
	}
}
