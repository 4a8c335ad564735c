package dynamolease_test

import (
	"context"
	"errors"
	"testing"

	"github.com/codexgate/codexgate/shared/codex"
)

// Tests that fail when a guard of the invariants table (docs/DESIGN.md §3.4)
// that lives in this adapter is removed. The other fenced writes (SetPending,
// Release) are covered by TestLeaser_StaleHolder, the acquire condition by
// TestLeaser_Acquire_Contention and TestLeaser_Acquire.

// Guard: Leaser.Renew's condition owner = :owner AND fence = :fence
// (updateIf), invariant "at most one holder per lease key". A holder that was
// taken over must not renew: its renewal would advance the newer holder's
// beat and expiry, and its heartbeat would count the renewal as lease time
// still its own, so it would go on writing beside the newer holder.
func TestLeaser_Renew_StaleHolder(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	stale := mustAcquire(t, e, "k", "a")
	if _, err := e.leaser.Acquire(ctx, "k", "b", ttl, &codex.LeaseHeldError{Owner: "a", Fence: stale.Fence, TTL: ttl}); err != nil {
		t.Fatalf("takeover: %v", err)
	}
	before := e.rawItem(t, "k")
	e.clock.Add(ttl / 2)

	if err := e.leaser.Renew(ctx, stale, ttl); !errors.Is(err, codex.ErrLeaseLost) {
		t.Fatalf("Renew by the stale holder: err = %v, want ErrLeaseLost", err)
	}
	after := e.rawItem(t, "k")
	if str(after, "owner") != "b" {
		t.Errorf("owner = %s, want b", str(after, "owner"))
	}
	for _, a := range []string{"fence", "beat", "expires_at", "ttl_ms"} {
		if num(after, a) != num(before, a) {
			t.Errorf("%s changed by the stale holder's renewal: %s → %s", a, num(before, a), num(after, a))
		}
	}
}

// Guard: Leaser.Renew's condition expires_at <> 0 (the lease was not
// released), docs/DESIGN.md §3.5. A renewal that lands after its holder's
// release (same owner and fence) must not hold the account again: every
// other container would wait a full silent lease for a holder that is gone.
func TestLeaser_Renew_AfterRelease(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	l := mustAcquire(t, e, "k", "a")
	if err := e.leaser.Release(ctx, l, codex.Release{}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if err := e.leaser.Renew(ctx, l, ttl); !errors.Is(err, codex.ErrLeaseLost) {
		t.Fatalf("Renew after Release: err = %v, want ErrLeaseLost", err)
	}
	if item := e.rawItem(t, "k"); num(item, "expires_at") != "0" || num(item, "beat") != "0" {
		t.Fatalf("after a late renewal: expires_at %s, beat %s; want 0, 0 (still released)", num(item, "expires_at"), num(item, "beat"))
	}
	// Still free for the next holder, with no takeover.
	if l2 := mustAcquire(t, e, "k", "b"); l2.Fence != 2 {
		t.Fatalf("next holder's fence = %d, want 2", l2.Fence)
	}
}
