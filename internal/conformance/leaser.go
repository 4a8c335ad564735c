package conformance

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// Leaser runs the lease contract against the leasers newLeaser returns (a
// fresh, empty one per call). Keys are unique per subtest.
func Leaser(t *testing.T, newLeaser func(t *testing.T) codex.Leaser) {
	ctx := context.Background()
	const ttl = 30 * time.Second
	acquire := func(t *testing.T, l codex.Leaser, key, owner string) *codex.Lease {
		t.Helper()
		got, err := l.Acquire(ctx, key, owner, ttl, nil)
		if err != nil {
			t.Fatalf("Acquire(%s, %s): %v", key, owner, err)
		}
		return got
	}

	t.Run("HeldByAnotherOwner", func(t *testing.T) {
		l := newLeaser(t)
		first := acquire(t, l, "k", "a")
		_, err := l.Acquire(ctx, "k", "b", ttl, nil)
		var held *codex.LeaseHeldError
		if !errors.As(err, &held) || !errors.Is(err, codex.ErrLeaseHeld) {
			t.Fatalf("second owner: %v, want *LeaseHeldError", err)
		}
		if held.Owner != "a" || held.Fence != first.Fence || held.TTL != ttl {
			t.Fatalf("held record %+v, want owner a, fence %d, ttl %s", held, first.Fence, ttl)
		}
		if again := acquire(t, l, "k", "a"); again.Fence != first.Fence+1 {
			t.Fatalf("re-acquire by its owner: fence %d, want %d", again.Fence, first.Fence+1)
		}
	})

	t.Run("ReleaseKeepsFenceAndNames", func(t *testing.T) {
		l := newLeaser(t)
		first := acquire(t, l, "k", "a")
		if err := l.Release(ctx, first, codex.Release{Current: map[string]string{"x": "v1", "y": "w1"}}); err != nil {
			t.Fatal(err)
		}
		second := acquire(t, l, "k", "b")
		if second.Fence != first.Fence+1 || second.Current["x"] != "v1" || second.Current["y"] != "w1" {
			t.Fatalf("after release: fence %d, current %v; want fence %d and both names", second.Fence, second.Current, first.Fence+1)
		}
		// Names merge; an empty id removes one.
		if err := l.Release(ctx, second, codex.Release{Current: map[string]string{"x": "v2", "y": ""}}); err != nil {
			t.Fatal(err)
		}
		rec, err := l.Inspect(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Current["x"] != "v2" || rec.Current["y"] != "" || len(rec.Current) != 1 {
			t.Fatalf("names after merge %v, want only x=v2", rec.Current)
		}
	})

	t.Run("HeldRecordNamesCurrent", func(t *testing.T) {
		l := newLeaser(t)
		first := acquire(t, l, "k", "a")
		if err := l.Release(ctx, first, codex.Release{Current: map[string]string{"x": "v1"}}); err != nil {
			t.Fatal(err)
		}
		acquire(t, l, "k", "b")
		_, err := l.Acquire(ctx, "k", "c", ttl, nil)
		var held *codex.LeaseHeldError
		if !errors.As(err, &held) || held.Current["x"] != "v1" {
			t.Fatalf("held record %+v (%v), want it to name x=v1: waiters adopt by it", held, err)
		}
	})

	t.Run("RenewAdvancesBeat", func(t *testing.T) {
		l := newLeaser(t)
		held := acquire(t, l, "k", "a")
		before, _ := l.Inspect(ctx, "k")
		if err := l.Renew(ctx, held, ttl); err != nil {
			t.Fatal(err)
		}
		after, _ := l.Inspect(ctx, "k")
		if after.Beat != before.Beat+1 || after.Owner != "a" || after.Fence != held.Fence {
			t.Fatalf("beat %d → %d (owner %s fence %d), want one more beat, same holder", before.Beat, after.Beat, after.Owner, after.Fence)
		}
	})

	t.Run("RenewAfterReleaseRefused", func(t *testing.T) {
		l := newLeaser(t)
		held := acquire(t, l, "k", "a")
		if err := l.Release(ctx, held, codex.Release{}); err != nil {
			t.Fatal(err)
		}
		if err := l.Renew(ctx, held, ttl); !errors.Is(err, codex.ErrLeaseLost) {
			t.Fatalf("Renew after Release: %v, want ErrLeaseLost", err)
		}
		if _, err := l.Acquire(ctx, "k", "b", ttl, nil); err != nil {
			t.Fatalf("a late renewal kept the lease held: %v", err)
		}
	})

	t.Run("StaleHolderLosesEveryWrite", func(t *testing.T) {
		l := newLeaser(t)
		stale := acquire(t, l, "k", "a")
		if err := l.Release(ctx, stale, codex.Release{}); err != nil {
			t.Fatal(err)
		}
		acquire(t, l, "k", "b")
		for name, write := range map[string]func() error{
			"Renew": func() error { return l.Renew(ctx, stale, ttl) },
			"SetPending": func() error {
				return l.SetPending(ctx, stale, codex.Pending{Account: "x", Version: "v", Base: "b"}, codex.RefreshBudget{})
			},
			"Release": func() error { return l.Release(ctx, stale, codex.Release{Current: map[string]string{"x": "stale"}}) },
		} {
			if err := write(); !errors.Is(err, codex.ErrLeaseLost) {
				t.Errorf("%s by a superseded holder: %v, want ErrLeaseLost", name, err)
			}
		}
		if rec, _ := l.Inspect(ctx, "k"); rec.Owner != "b" || rec.Current["x"] != "" {
			t.Fatalf("item after the stale writes: %+v", rec)
		}
	})

	t.Run("TakeoverOnlyOfTheWatchedRecord", func(t *testing.T) {
		l := newLeaser(t)
		acquire(t, l, "k", "a")
		_, err := l.Acquire(ctx, "k", "b", ttl, nil)
		var watched *codex.LeaseHeldError
		if !errors.As(err, &watched) {
			t.Fatal(err)
		}
		// The holder renews: the record the waiter watched is gone.
		holder, err := l.Acquire(ctx, "k", "a", ttl, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Acquire(ctx, "k", "b", ttl, watched); !errors.Is(err, codex.ErrLeaseHeld) {
			t.Fatalf("takeover of a record that moved: %v, want ErrLeaseHeld", err)
		}
		_, err = l.Acquire(ctx, "k", "b", ttl, nil)
		if !errors.As(err, &watched) {
			t.Fatal(err)
		}
		got, err := l.Acquire(ctx, "k", "b", ttl, watched)
		if err != nil || got.Fence != holder.Fence+1 {
			t.Fatalf("takeover of the watched record: %+v, %v; want fence %d", got, err, holder.Fence+1)
		}
	})

	t.Run("PendingRecordedAndCleared", func(t *testing.T) {
		l := newLeaser(t)
		held := acquire(t, l, "k", "a")
		p := codex.Pending{Account: "x", Version: "v2", Base: "v1"}
		b := codex.RefreshBudget{Tokens: 3.5, At: time.UnixMilli(time.Now().UnixMilli())}
		if err := l.SetPending(ctx, held, p, b); err != nil {
			t.Fatal(err)
		}
		if err := l.Release(ctx, held, codex.Release{}); err != nil {
			t.Fatal(err)
		}
		next := acquire(t, l, "k", "b")
		if next.Pending != p || next.Budget.Tokens != b.Tokens || !next.Budget.At.Equal(b.At) {
			t.Fatalf("next holder sees pending %+v budget %+v, want %+v %+v", next.Pending, next.Budget, p, b)
		}
		if err := l.Release(ctx, next, codex.Release{ClearPending: true}); err != nil {
			t.Fatal(err)
		}
		if last := acquire(t, l, "k", "c"); last.Pending != (codex.Pending{}) {
			t.Fatalf("pending after ClearPending: %+v", last.Pending)
		}
	})

	t.Run("InspectWithoutItem", func(t *testing.T) {
		rec, err := newLeaser(t).Inspect(ctx, "never-taken")
		if err != nil || rec.Owner != "" || len(rec.Current) != 0 {
			t.Fatalf("Inspect of a key never taken: %+v, %v; want a zero record", rec, err)
		}
	})
}
