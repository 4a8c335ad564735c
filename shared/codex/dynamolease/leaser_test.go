package dynamolease_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/testclock"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
)

const ttl = 30 * time.Second

func newClock() *testclock.Clock { return testclock.New(time.UnixMilli(time.Now().UnixMilli())) }

type env struct {
	ddb    *dynamodb.Client
	table  string
	clock  *testclock.Clock
	leaser *dynamolease.Leaser
	faults *awsfault.Transport // wraps the leaser's client; retries disabled
}

func setup(t *testing.T) *env {
	t.Helper()
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	ft := awsfault.New(nil)
	c := newClock()
	return &env{
		ddb:    dynamodb.NewFromConfig(cfg),
		table:  table,
		clock:  c,
		leaser: dynamolease.New(dynamodb.NewFromConfig(awsfault.NoRetries(ft.Wrap(cfg))), table, dynamolease.WithClock(c.Now)),
		faults: ft,
	}
}

// rawItem reads a lease item directly.
func (e *env) rawItem(t *testing.T, key string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.ddb.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(e.table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "lease#" + key},
			"sk": &types.AttributeValueMemberS{Value: "lease"},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("get lease item: %v", err)
	}
	return out.Item
}

// num and str read a raw item's attributes.
var num, str = testsupport.Num, testsupport.Str

func mustAcquire(t *testing.T, e *env, key, owner string) *codex.Lease {
	t.Helper()
	l, err := e.leaser.Acquire(context.Background(), key, owner, ttl, nil)
	if err != nil {
		t.Fatalf("Acquire(%s, %s): %v", key, owner, err)
	}
	return l
}

func TestLeaser_Acquire(t *testing.T) {
	e := setup(t)
	tests := []struct {
		name      string
		prepare   func(t *testing.T, key string) *codex.LeaseHeldError // runs before the acquire by "b"; returns the stale record it passes
		wantFence int64
		wantHeld  bool
	}{
		{name: "NewKey", prepare: func(*testing.T, string) *codex.LeaseHeldError { return nil }, wantFence: 1},
		{
			name:     "HeldByOther",
			prepare:  func(t *testing.T, key string) *codex.LeaseHeldError { mustAcquire(t, e, key, "a"); return nil },
			wantHeld: true,
		},
		{
			// Stored times are never compared with this machine's clock:
			// a clock minutes ahead does not free another holder's lease.
			name: "PastExpiryByOurClock",
			prepare: func(t *testing.T, key string) *codex.LeaseHeldError {
				mustAcquire(t, e, key, "a")
				e.clock.Add(ttl + 5*time.Minute)
				return nil
			},
			wantHeld: true,
		},
		{
			name: "StaleRecord",
			prepare: func(t *testing.T, key string) *codex.LeaseHeldError {
				l := mustAcquire(t, e, key, "a")
				return &codex.LeaseHeldError{Owner: "a", Fence: l.Fence, Beat: 0, TTL: ttl}
			},
			wantFence: 2,
		},
		{
			name: "StaleRecordRenewedSince",
			prepare: func(t *testing.T, key string) *codex.LeaseHeldError {
				l := mustAcquire(t, e, key, "a")
				if err := e.leaser.Renew(context.Background(), l, ttl); err != nil {
					t.Fatalf("Renew: %v", err)
				}
				return &codex.LeaseHeldError{Owner: "a", Fence: l.Fence, Beat: 0, TTL: ttl}
			},
			wantHeld: true,
		},
		{
			name:      "SameOwner",
			prepare:   func(t *testing.T, key string) *codex.LeaseHeldError { mustAcquire(t, e, key, "b"); return nil },
			wantFence: 2,
		},
		{
			name: "AfterRelease",
			prepare: func(t *testing.T, key string) *codex.LeaseHeldError {
				l := mustAcquire(t, e, key, "a")
				if err := e.leaser.Release(context.Background(), l, codex.Release{}); err != nil {
					t.Fatalf("Release: %v", err)
				}
				return nil
			},
			wantFence: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "acct-" + tt.name
			stale := tt.prepare(t, key)
			l, err := e.leaser.Acquire(context.Background(), key, "b", ttl, stale)
			if tt.wantHeld {
				var held *codex.LeaseHeldError
				if !errors.As(err, &held) || !errors.Is(err, codex.ErrLeaseHeld) {
					t.Fatalf("Acquire err = %v, want *LeaseHeldError", err)
				}
				if held.Owner != "a" || held.Fence != 1 || held.TTL != ttl {
					t.Errorf("held = %+v, want owner a, fence 1, ttl %s", held, ttl)
				}
				return
			}
			if err != nil {
				t.Fatalf("Acquire: %v", err)
			}
			want := codex.Lease{Key: key, Owner: "b", Fence: tt.wantFence, TTL: ttl, ExpiresAt: e.clock.Now().Add(ttl)}
			if l.Key != want.Key || l.Owner != want.Owner || l.Fence != want.Fence || l.TTL != want.TTL || !l.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("lease = %+v, want %+v", *l, want)
			}
		})
	}
}

func TestLeaser_Acquire_UnknownOutcomeResolvedAsAcquired(t *testing.T) {
	e := setup(t)
	e.faults.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Drop, Times: 1})
	l, err := e.leaser.Acquire(context.Background(), "k", "me", ttl, nil)
	if err != nil {
		t.Fatalf("Acquire after a dropped answer: %v", err)
	}
	if l.Owner != "me" || l.Fence != 1 {
		t.Errorf("lease = %+v, want owner me, fence 1", *l)
	}
	if n := e.faults.Count("UpdateItem"); n != 1 {
		t.Errorf("UpdateItem calls = %d, want 1 (resolved by reading, not by writing again)", n)
	}
	if n := e.faults.Count("GetItem"); n != 1 {
		t.Errorf("GetItem calls = %d, want 1", n)
	}
}

func TestLeaser_Acquire_UnknownOutcomeNotApplied(t *testing.T) {
	e := setup(t)
	e.faults.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Refuse, Times: 1})
	_, err := e.leaser.Acquire(context.Background(), "k", "me", ttl, nil)
	if !errors.Is(err, awsfault.ErrInjected) {
		t.Fatalf("Acquire err = %v, want the transport error", err)
	}
	if item := e.rawItem(t, "k"); len(item) != 0 {
		t.Errorf("item = %v, want none", item)
	}
}

func TestLeaser_Acquire_ConditionFailedWithoutItem(t *testing.T) {
	e := setup(t)
	mustAcquire(t, e, "k", "a")
	e.faults.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Respond, Times: 1, Status: 400,
		Body: awsfault.ErrorBody("com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "The conditional request failed")})
	_, err := e.leaser.Acquire(context.Background(), "k", "b", ttl, nil)
	var held *codex.LeaseHeldError
	if !errors.As(err, &held) || held.Owner != "a" || held.Fence != 1 {
		t.Fatalf("Acquire err = %v, want *LeaseHeldError{a, fence 1} read back by GetItem", err)
	}
	if n := e.faults.Count("GetItem"); n != 1 {
		t.Errorf("GetItem calls = %d, want 1", n)
	}
}

// A holder paused past its lease must not change the newer holder's item.
func TestLeaser_StaleHolder(t *testing.T) {
	tests := []struct {
		name  string
		write func(l *dynamolease.Leaser, stale *codex.Lease) error
	}{
		{"SetPending", func(l *dynamolease.Leaser, stale *codex.Lease) error {
			return l.SetPending(context.Background(), stale, codex.Pending{Account: "x", Version: "stale-version", Base: "v0"}, codex.RefreshBudget{})
		}},
		{"Release", func(l *dynamolease.Leaser, stale *codex.Lease) error {
			return l.Release(context.Background(), stale, codex.Release{Current: map[string]string{"x": "stale-version"}, ClearPending: true, Reauth: map[string]codex.ReauthMark{}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			stale := mustAcquire(t, e, "k", "a")
			newer, err := e.leaser.Acquire(context.Background(), "k", "b", ttl, &codex.LeaseHeldError{Owner: "a", Fence: stale.Fence, TTL: ttl})
			if err != nil {
				t.Fatalf("takeover: %v", err)
			}
			pending := codex.Pending{Account: "acct", Version: "new-version", Base: "v1"}
			if err := e.leaser.SetPending(context.Background(), newer, pending, codex.RefreshBudget{}); err != nil {
				t.Fatalf("SetPending by the holder: %v", err)
			}
			before := e.rawItem(t, "k")

			err = tt.write(e.leaser, stale)
			if !errors.Is(err, codex.ErrLeaseLost) {
				t.Fatalf("%s by the stale holder: err = %v, want ErrLeaseLost", tt.name, err)
			}
			after := e.rawItem(t, "k")
			for _, a := range []string{"owner", "pending_account", "pending_version", "pending_base"} {
				if str(after, a) != str(before, a) {
					t.Errorf("%s changed: %s → %s", a, str(before, a), str(after, a))
				}
			}
			for _, a := range []string{"fence", "expires_at"} {
				if num(after, a) != num(before, a) {
					t.Errorf("%s changed: %s → %s", a, num(before, a), num(after, a))
				}
			}
			if _, ok := after["current"]; ok {
				t.Errorf("current written by the stale holder")
			}
		})
	}
}

func TestLeaser_Release_KeepsItemAndFence(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	refreshed := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	mark := codex.ReauthMark{Version: "v1", Reason: "refresh_token_reused", At: refreshed}

	l := mustAcquire(t, e, "k", "a")
	if err := e.leaser.SetPending(ctx, l, codex.Pending{Account: "acct", Version: "v2", Base: "v1"}, codex.RefreshBudget{}); err != nil {
		t.Fatalf("SetPending: %v", err)
	}
	// First release leaves the pending intent (an unfinished attempt) and a mark.
	if err := e.leaser.Release(ctx, l, codex.Release{Reauth: map[string]codex.ReauthMark{"acct": mark}}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	item := e.rawItem(t, "k")
	if num(item, "fence") != "1" || num(item, "expires_at") != "0" {
		t.Fatalf("after release: fence %s, expires_at %s; want 1, 0", num(item, "fence"), num(item, "expires_at"))
	}
	if _, ok := item["ttl"]; ok {
		t.Errorf("lease item has a ttl")
	}

	l2 := mustAcquire(t, e, "k", "b")
	want := codex.Pending{Account: "acct", Version: "v2", Base: "v1"}
	if l2.Fence != 2 || l2.Pending != want || l2.Reauth["acct"] != mark {
		t.Fatalf("next lease = %+v, want fence 2, pending %+v, reauth %+v", *l2, want, mark)
	}
	// Second release resolves everything; nil Reauth leaves the marks.
	if err := e.leaser.Release(ctx, l2, codex.Release{Current: map[string]string{"acct": "v2"}, LastRefresh: refreshed, ClearPending: true}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	l3 := mustAcquire(t, e, "k", "c")
	if l3.Fence != 3 || l3.Pending != (codex.Pending{}) || l3.Current["acct"] != "v2" ||
		!l3.LastRefresh.Equal(refreshed) || l3.Reauth["acct"] != mark {
		t.Fatalf("third lease = %+v", *l3)
	}
	// An empty Reauth map removes the marks.
	if err := e.leaser.Release(ctx, l3, codex.Release{Reauth: map[string]codex.ReauthMark{}}); err != nil {
		t.Fatalf("Release: %v", err)
	}
	if l4 := mustAcquire(t, e, "k", "d"); l4.Reauth != nil || l4.Current["acct"] != "v2" {
		t.Fatalf("fourth lease = %+v, want no reauth marks, current v2", *l4)
	}
}

func TestLeaser_Write_UnknownOutcome(t *testing.T) {
	tests := []struct {
		name  string
		write func(e *env, l *codex.Lease) error
		check func(t *testing.T, item map[string]types.AttributeValue)
	}{
		{
			name: "SetPending",
			write: func(e *env, l *codex.Lease) error {
				return e.leaser.SetPending(context.Background(), l, codex.Pending{Account: "acct", Version: "v2", Base: "v1"}, codex.RefreshBudget{})
			},
			check: func(t *testing.T, item map[string]types.AttributeValue) {
				if str(item, "pending_version") != "v2" {
					t.Errorf("pending_version = %s, want v2", str(item, "pending_version"))
				}
			},
		},
		{
			name: "Release",
			write: func(e *env, l *codex.Lease) error {
				return e.leaser.Release(context.Background(), l, codex.Release{Current: map[string]string{"acct": "v2"}})
			},
			check: func(t *testing.T, item map[string]types.AttributeValue) {
				cur, _ := item["current"].(*types.AttributeValueMemberM)
				if num(item, "expires_at") != "0" || cur == nil || str(cur.Value, "acct") != "v2" {
					t.Errorf("expires_at %s, current %v; want 0, acct: v2", num(item, "expires_at"), item["current"])
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			l := mustAcquire(t, e, "k", "a")
			e.faults.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Drop, Times: 1})
			if err := tt.write(e, l); err != nil {
				t.Fatalf("%s with a dropped answer: %v, want resolved by reading", tt.name, err)
			}
			tt.check(t, e.rawItem(t, "k"))
		})
	}
}

func TestLeaser_SetPending_NotSentFails(t *testing.T) {
	e := setup(t)
	l := mustAcquire(t, e, "k", "a")
	e.faults.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Refuse, Times: 1})
	err := e.leaser.SetPending(context.Background(), l, codex.Pending{Account: "acct", Version: "v2", Base: "v1"}, codex.RefreshBudget{})
	if !errors.Is(err, awsfault.ErrInjected) || errors.Is(err, codex.ErrLeaseLost) {
		t.Fatalf("SetPending never sent: err = %v, want the transport error", err)
	}
	if _, ok := e.rawItem(t, "k")["pending_version"]; ok {
		t.Errorf("pending_version written")
	}
}
