package awsstores

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/statestore"
)

// TestStates_AccountSettingsInTheOneLoad (moto): paused and priority,
// written by the CLI on the registry items, reach the pool with the
// account list and the states it already loads: one Query for all three.
func TestStates_AccountSettingsInTheOneLoad(t *testing.T) {
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	faults := awsfault.New(nil)
	store := statestore.New(dynamodb.NewFromConfig(awsfault.NoRetries(faults.Wrap(cfg))), table)
	ctx := context.Background()
	for _, name := range []string{"kim", "lee", "max"} {
		if err := store.Register(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := store.SetPaused(ctx, "kim", true); err != nil {
		t.Fatal(err)
	}
	if err := store.SetPriority(ctx, "lee", 2); err != nil {
		t.Fatal(err)
	}
	if err := store.MarkReauthRequired(ctx, "lee", "refresh_token_reused"); err != nil {
		t.Fatal(err)
	}
	faults.Reset()

	shared := &SharedLoad{StateAPI: store}
	accounts := Accounts{Load: shared, Registry: statestore.Registry{Store: store}}
	gate := make(chan struct{})
	var (
		wg     sync.WaitGroup
		names  []string
		states []proxy.AccountState
		e1, e2 error
	)
	wg.Go(func() { <-gate; names, e1 = accounts.List(ctx) })
	wg.Go(func() { <-gate; states, e2 = States{Store: shared}.AccountStates(ctx) })
	close(gate)
	wg.Wait()
	if e1 != nil || e2 != nil {
		t.Fatal(e1, e2)
	}
	if !slices.Equal(names, []string{"kim", "lee", "max"}) {
		t.Errorf("names %v", names)
	}
	byName := map[string]proxy.AccountState{}
	for _, st := range states {
		byName[st.Account] = st
	}
	if st := byName["kim"]; !st.Paused || st.Priority != 0 {
		t.Errorf("kim = %+v, want paused", st)
	}
	if st := byName["lee"]; st.Paused || st.Priority != 2 || !st.ReauthRequired {
		t.Errorf("lee = %+v, want priority 2 and its reauth mark", st)
	}
	if st, ok := byName["max"]; ok && (st.Paused || st.Priority != 0) {
		t.Errorf("max = %+v", st)
	}
	// The two reads may share one Query or, when they do not overlap, make
	// one each; never more, and no other call.
	if q := faults.Count("Query"); q < 1 || q > 2 || faults.Total() != q {
		t.Errorf("calls %v, want only the load's Query", faults.Counts())
	}
}
