package statestore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/statestore"
)

// TestStore_AccountSettings: pause, resume and priority round trip on the
// registry item, which Load (the pool's one Query) already reads; they
// leave the account's other items and the registry's own fields alone,
// survive a re-registration, and go with a removal. An unregistered
// account writes nothing.
func TestStore_AccountSettings(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, name := range []string{"kim", "lee"} {
		if err := e.store.Register(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.SetCooldown(ctx, "kim", t0.Add(time.Hour), "usage_limit_reached"); err != nil {
		t.Fatal(err)
	}
	if snap := e.load(t); len(snap.Settings) != 0 {
		t.Fatalf("settings before any were set: %v", snap.Settings)
	}
	if err := e.store.SetPaused(ctx, "kim", true); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPriority(ctx, "kim", -3); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPriority(ctx, "lee", 7); err != nil {
		t.Fatal(err)
	}
	snap := e.load(t)
	want := map[string]statestore.AccountSettings{
		"kim": {Paused: true, PausedAt: t0, Priority: -3},
		"lee": {Priority: 7},
	}
	if len(snap.Settings) != 2 || snap.Settings["kim"] != want["kim"] || snap.Settings["lee"] != want["lee"] {
		t.Errorf("settings %+v, want %+v", snap.Settings, want)
	}
	if st := snap.States["kim"]; st.CooldownReason != "usage_limit_reached" || !slices.Equal(snap.Registered, []string{"kim", "lee"}) {
		t.Errorf("other fields changed: state %+v, registered %v", st, snap.Registered)
	}
	// A re-import registers again: the settings stay.
	if err := e.store.Register(ctx, "kim"); err != nil {
		t.Fatal(err)
	}
	if got := e.load(t).Settings["kim"]; got != want["kim"] {
		t.Errorf("after re-registering: %+v", got)
	}
	if err := e.store.SetPaused(ctx, "kim", false); err != nil {
		t.Fatal(err)
	}
	if got := e.load(t).Settings["kim"]; got != (statestore.AccountSettings{Priority: -3}) {
		t.Errorf("after resume: %+v", got)
	}

	// Unknown account: an error naming it, and no item appears.
	for _, write := range []func() error{
		func() error { return e.store.SetPaused(ctx, "nobody", true) },
		func() error { return e.store.SetPaused(ctx, "nobody", false) },
		func() error { return e.store.SetPriority(ctx, "nobody", 1) },
	} {
		if err := write(); !errors.Is(err, statestore.ErrNotRegistered) {
			t.Errorf("write for an unknown account = %v, want ErrNotRegistered", err)
		}
	}
	snap = e.load(t)
	if _, ok := snap.Settings["nobody"]; ok || slices.Contains(snap.Registered, "nobody") {
		t.Errorf("an unknown account's write left an item: %+v", snap)
	}

	// Removal takes the settings with it; a write after it is refused.
	if err := e.store.Deregister(ctx, "lee"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPriority(ctx, "lee", 1); !errors.Is(err, statestore.ErrNotRegistered) {
		t.Errorf("priority after removal = %v", err)
	}
	if _, ok := e.load(t).Settings["lee"]; ok {
		t.Error("lee's settings outlived its removal")
	}
}
