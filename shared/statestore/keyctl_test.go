package statestore_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/codexgate/codexgate/shared/statestore"
)

// TestStore_UpdateKey creates, updates and clears each routing control
// against the table, and a refused change writes nothing.
func TestStore_UpdateKey(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	plain, _, err := e.store.CreateKey(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	list := func(v ...string) *[]string { return &v }
	n := func(v int) *int { return &v }
	type controls struct {
		Models, Accounts []string
		Max              int
	}
	get := func() controls {
		t.Helper()
		k, err := e.store.LookupKey(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		return controls{k.Models, k.Accounts, k.MaxConcurrent}
	}
	if got := get(); got.Models != nil || got.Accounts != nil || got.Max != 0 {
		t.Fatalf("a new key has controls: %+v", got)
	}
	for _, tc := range []struct {
		name   string
		change statestore.KeyChange
		want   controls
	}{
		{"models", statestore.KeyChange{Models: list("gpt-5.5", "gpt-5.4-mini", "gpt-5.5")}, controls{[]string{"gpt-5.5", "gpt-5.4-mini"}, nil, 0}},
		{"accounts keeps models", statestore.KeyChange{Accounts: list("work", "home")}, controls{[]string{"gpt-5.5", "gpt-5.4-mini"}, []string{"work", "home"}, 0}},
		{"cap keeps the lists", statestore.KeyChange{MaxConcurrent: n(3)}, controls{[]string{"gpt-5.5", "gpt-5.4-mini"}, []string{"work", "home"}, 3}},
		{"all at once", statestore.KeyChange{Models: list("gpt-5.5"), Accounts: list("work"), MaxConcurrent: n(1)}, controls{[]string{"gpt-5.5"}, []string{"work"}, 1}},
		{"clear models", statestore.KeyChange{Models: list()}, controls{nil, []string{"work"}, 1}},
		{"clear accounts and cap", statestore.KeyChange{Accounts: list(), MaxConcurrent: n(0)}, controls{nil, nil, 0}},
		{"set again", statestore.KeyChange{Models: list("gpt-5.5"), Accounts: list("work"), MaxConcurrent: n(2)}, controls{[]string{"gpt-5.5"}, []string{"work"}, 2}},
	} {
		if err := e.store.UpdateKey(ctx, "team", tc.change); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := get(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	keys, err := e.store.ListKeys(ctx)
	if err != nil || len(keys) != 1 || !reflect.DeepEqual(keys[0].Models, []string{"gpt-5.5"}) || keys[0].MaxConcurrent != 2 {
		t.Errorf("ListKeys: %+v %v", keys, err)
	}

	for _, bad := range []statestore.KeyChange{
		{},
		{MaxConcurrent: n(-1)},
		{Models: list("gpt-5.5", "")},
		{Models: list("gpt 5")},
		{Accounts: list("a,b")},
		{Models: list("ok"), MaxConcurrent: n(-3)}, // nothing of a refused change is written
	} {
		if err := e.store.UpdateKey(ctx, "team", bad); !errors.Is(err, statestore.ErrBadKeyChange) {
			t.Errorf("UpdateKey(%+v) = %v, want ErrBadKeyChange", bad, err)
		}
	}
	if got, want := get(), (controls{[]string{"gpt-5.5"}, []string{"work"}, 2}); !reflect.DeepEqual(got, want) {
		t.Errorf("a refused change changed the key: %+v, want %+v", got, want)
	}
	if err := e.store.UpdateKey(ctx, "nobody", statestore.KeyChange{MaxConcurrent: n(1)}); !errors.Is(err, statestore.ErrKeyNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	if err := e.store.RevokeKey(ctx, "team"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpdateKey(ctx, "team", statestore.KeyChange{MaxConcurrent: n(1)}); !errors.Is(err, statestore.ErrKeyNotFound) {
		t.Errorf("revoked key: %v", err)
	}
}
