package statestore_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	store *statestore.Store
	ddb   *dynamodb.Client
	table string
}

func setup(t *testing.T) *env {
	t.Helper()
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	ddb := dynamodb.NewFromConfig(cfg)
	return &env{store: statestore.New(ddb, table, statestore.WithClock(func() time.Time { return t0 })), ddb: ddb, table: table}
}

func (e *env) load(t *testing.T) statestore.Snapshot {
	t.Helper()
	snap, err := e.store.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return snap
}

// partition reads the raw items of partition pk.
func (e *env) partition(t *testing.T, pk string) []map[string]types.AttributeValue {
	t.Helper()
	out, err := e.ddb.Query(context.Background(), &dynamodb.QueryInput{
		TableName:                 aws.String(e.table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pk}},
	})
	if err != nil {
		t.Fatalf("query partition %s: %v", pk, err)
	}
	return out.Items
}

func TestStore_AccountState(t *testing.T) {
	until := t0.Add(30 * time.Minute)
	tests := []struct {
		name string
		ops  func(ctx context.Context, s *statestore.Store) error
		want statestore.AccountState
	}{
		{
			name: "MarkReauth",
			ops: func(ctx context.Context, s *statestore.Store) error {
				return s.MarkReauthRequired(ctx, "a", "refresh_token_reused")
			},
			want: statestore.AccountState{Account: "a", Status: statestore.StatusReauthRequired, Reason: "refresh_token_reused", StatusAt: t0},
		},
		{
			name: "ClearReauth",
			ops: func(ctx context.Context, s *statestore.Store) error {
				if err := s.MarkReauthRequired(ctx, "a", "refresh_token_reused"); err != nil {
					return err
				}
				return s.ClearReauth(ctx, "a")
			},
			want: statestore.AccountState{Account: "a", Status: statestore.StatusOK, StatusAt: t0},
		},
		{
			name: "SetCooldown",
			ops: func(ctx context.Context, s *statestore.Store) error {
				return s.SetCooldown(ctx, "a", until, "usage_limit_reached")
			},
			want: statestore.AccountState{Account: "a", CooldownUntil: until, CooldownReason: "usage_limit_reached"},
		},
		{
			name: "ClearCooldownKeepsReauth",
			ops: func(ctx context.Context, s *statestore.Store) error {
				if err := s.MarkReauthRequired(ctx, "a", "invalid_grant"); err != nil {
					return err
				}
				if err := s.SetCooldown(ctx, "a", until, "unauthorized"); err != nil {
					return err
				}
				return s.ClearCooldown(ctx, "a")
			},
			want: statestore.AccountState{Account: "a", Status: statestore.StatusReauthRequired, Reason: "invalid_grant", StatusAt: t0},
		},
		{
			name: "SetUnauthorized",
			ops: func(ctx context.Context, s *statestore.Store) error {
				return s.SetUnauthorized(ctx, "a", until, 2, "v1")
			},
			want: statestore.AccountState{Account: "a", CooldownUntil: until, CooldownReason: "unauthorized", CooldownStrikes: 2, CooldownVersion: "v1"},
		},
		{
			name: "RefreshOfTheRejectedVersionKeepsTheCooldown",
			ops: func(ctx context.Context, s *statestore.Store) error {
				if err := s.SetUnauthorized(ctx, "a", until, 1, "v1"); err != nil {
					return err
				}
				return s.VersionStored(ctx, "a", "v1", false)
			},
			want: statestore.AccountState{Account: "a", CooldownUntil: until, CooldownReason: "unauthorized", CooldownStrikes: 1, CooldownVersion: "v1"},
		},
		{
			name: "NewerVersionLiftsA401Cooldown",
			ops: func(ctx context.Context, s *statestore.Store) error {
				if err := s.SetUnauthorized(ctx, "a", until, 3, "v1"); err != nil {
					return err
				}
				return s.VersionStored(ctx, "a", "v2", false)
			},
			want: statestore.AccountState{Account: "a"},
		},
		{
			name: "NewerVersionKeepsAUsageLimit",
			ops: func(ctx context.Context, s *statestore.Store) error {
				if err := s.SetCooldown(ctx, "a", until, "usage_limit_reached"); err != nil {
					return err
				}
				return s.VersionStored(ctx, "a", "v2", false)
			},
			want: statestore.AccountState{Account: "a", CooldownUntil: until, CooldownReason: "usage_limit_reached"},
		},
		{
			name: "LoginEndsReauthAndEveryCooldown",
			ops: func(ctx context.Context, s *statestore.Store) error {
				if err := s.MarkReauthRequired(ctx, "a", "refresh_token_reused"); err != nil {
					return err
				}
				if err := s.SetCooldown(ctx, "a", until, "usage_limit_reached"); err != nil {
					return err
				}
				return s.VersionStored(ctx, "a", "v9", true)
			},
			want: statestore.AccountState{Account: "a", Status: statestore.StatusOK, StatusAt: t0, LoginVersion: "v9"},
		},
		{
			name: "ClearUnauthorizedKeepsAUsageLimit",
			ops: func(ctx context.Context, s *statestore.Store) error {
				if err := s.SetCooldown(ctx, "a", until, "usage_limit_reached"); err != nil {
					return err
				}
				return s.ClearUnauthorized(ctx, "a")
			},
			want: statestore.AccountState{Account: "a", CooldownUntil: until, CooldownReason: "usage_limit_reached"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			if err := tt.ops(context.Background(), e.store); err != nil {
				t.Fatalf("ops: %v", err)
			}
			got := e.load(t).States["a"]
			if !got.StatusAt.Equal(tt.want.StatusAt) || !got.CooldownUntil.Equal(tt.want.CooldownUntil) {
				t.Errorf("times: status_at %v cooldown %v, want %v %v", got.StatusAt, got.CooldownUntil, tt.want.StatusAt, tt.want.CooldownUntil)
			}
			got.StatusAt, got.CooldownUntil = tt.want.StatusAt, tt.want.CooldownUntil
			if got != tt.want {
				t.Errorf("state = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStore_PutQuota_Load(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	q := statestore.QuotaSnapshot{Account: "a", Snapshot: quota.Snapshot{
		Plan: "plus", Allowed: true, LimitReached: false,
		Windows: []quota.Window{
			{Kind: quota.Kind5h, UsedPercent: 42.5, WindowSeconds: 18000, ResetAt: t0.Add(2 * time.Hour)},
			{Kind: quota.KindWeekly, UsedPercent: 7, WindowSeconds: 604800},
		},
		Credits:   quota.Credits{HasCredits: true, Balance: "12.50"},
		FetchedAt: t0,
	}}
	if err := e.store.PutQuota(ctx, q); err != nil {
		t.Fatalf("PutQuota: %v", err)
	}
	q2 := q
	q2.Account, q2.Credits, q2.LimitReached = "b", quota.Credits{Unlimited: true}, true
	if err := e.store.PutQuota(ctx, q2); err != nil {
		t.Fatalf("PutQuota: %v", err)
	}
	if err := e.store.MarkReauthRequired(ctx, "b", "token_expired"); err != nil {
		t.Fatal(err)
	}
	snap := e.load(t)
	for _, want := range []statestore.QuotaSnapshot{q, q2} {
		got := snap.Quotas[want.Account]
		if !reflect.DeepEqual(got.Windows, want.Windows) && !windowsEqual(got.Windows, want.Windows) {
			t.Errorf("%s windows = %+v, want %+v", want.Account, got.Windows, want.Windows)
		}
		if got.Credits != want.Credits {
			t.Errorf("%s credits = %#v, want %#v", want.Account, got.Credits, want.Credits)
		}
		if got.Account != want.Account || got.Plan != want.Plan || got.Allowed != want.Allowed ||
			got.LimitReached != want.LimitReached || !got.FetchedAt.Equal(want.FetchedAt) {
			t.Errorf("quota = %+v, want %+v", got, want)
		}
	}
	if len(snap.Quotas) != 2 || len(snap.States) != 1 || snap.States["b"].Status != statestore.StatusReauthRequired {
		t.Errorf("snapshot = %+v, want 2 quotas and b's state", snap)
	}
}

func windowsEqual(a, b []quota.Window) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Kind != b[i].Kind || a[i].UsedPercent != b[i].UsedPercent ||
			a[i].WindowSeconds != b[i].WindowSeconds || !a[i].ResetAt.Equal(b[i].ResetAt) {
			return false
		}
	}
	return true
}

func TestStore_Keys(t *testing.T) {
	e := setup(t)
	ctx := context.Background()

	plain, k, err := e.store.CreateKey(ctx, "laptop")
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	if !strings.HasPrefix(plain, "cgk_") || len(plain) != 4+43 || k.Prefix != plain[:8] || k.Name != "laptop" || !k.CreatedAt.Equal(t0) {
		t.Fatalf("CreateKey = %q, %+v", plain, k)
	}
	other, _, err := e.store.CreateKey(ctx, "ci")
	if err != nil {
		t.Fatalf("CreateKey ci: %v", err)
	}

	t.Run("StoresOnlyTheHash", func(t *testing.T) {
		out, err := e.ddb.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(e.table)})
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range out.Items {
			for name, v := range item {
				if s, ok := v.(*types.AttributeValueMemberS); ok && (strings.Contains(s.Value, plain[8:]) || strings.Contains(s.Value, other[8:])) {
					t.Errorf("attribute %s holds a plaintext key", name)
				}
			}
		}
	})
	t.Run("DuplicateNameRefused", func(t *testing.T) {
		if _, _, err := e.store.CreateKey(ctx, "laptop"); !errors.Is(err, statestore.ErrKeyExists) {
			t.Errorf("CreateKey(laptop) again: err = %v, want ErrKeyExists", err)
		}
	})

	lookups := []struct {
		name    string
		key     string
		want    string
		wantErr error
	}{
		{"Valid", plain, "laptop", nil},
		{"Other", other, "ci", nil},
		{"Unknown", "cgk_" + strings.Repeat("A", 43), "", statestore.ErrKeyNotFound},
		{"NotAKey", "sk-proj-whatever", "", statestore.ErrKeyNotFound},
		{"Empty", "", "", statestore.ErrKeyNotFound},
	}
	for _, tt := range lookups {
		t.Run("Lookup"+tt.name, func(t *testing.T) {
			got, err := e.store.LookupKey(ctx, tt.key)
			if !errors.Is(err, tt.wantErr) || got.Name != tt.want {
				t.Errorf("LookupKey = %+v, %v; want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}

	t.Run("RevokeThenNotFound", func(t *testing.T) {
		if err := e.store.RevokeKey(ctx, "laptop"); err != nil {
			t.Fatalf("RevokeKey: %v", err)
		}
		if _, err := e.store.LookupKey(ctx, plain); !errors.Is(err, statestore.ErrKeyNotFound) {
			t.Errorf("LookupKey(revoked) err = %v, want ErrKeyNotFound", err)
		}
		if err := e.store.RevokeKey(ctx, "laptop"); !errors.Is(err, statestore.ErrKeyNotFound) {
			t.Errorf("RevokeKey again: err = %v, want ErrKeyNotFound", err)
		}
		if err := e.store.RevokeKey(ctx, "nobody"); !errors.Is(err, statestore.ErrKeyNotFound) {
			t.Errorf("RevokeKey(nobody): err = %v, want ErrKeyNotFound", err)
		}
		daily := int64(1000)
		if err := e.store.SetKeyBudget(ctx, "laptop", statestore.BudgetChange{Daily: &daily}); !errors.Is(err, statestore.ErrKeyNotFound) {
			t.Errorf("SetKeyBudget(revoked): err = %v, want ErrKeyNotFound", err)
		}
		// The name is free again once its key is revoked.
		if _, _, err := e.store.CreateKey(ctx, "laptop"); err != nil {
			t.Errorf("CreateKey(laptop) after revoke: %v", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		keys, err := e.store.ListKeys(ctx)
		if err != nil {
			t.Fatalf("ListKeys: %v", err)
		}
		var revoked, active int
		for _, k := range keys {
			if k.Revoked {
				revoked++
				if k.Name != "laptop" || !k.RevokedAt.Equal(t0) {
					t.Errorf("revoked key = %+v", k)
				}
			} else {
				active++
			}
		}
		if len(keys) != 3 || revoked != 1 || active != 2 {
			t.Errorf("ListKeys = %+v, want 3 keys, 1 revoked", keys)
		}
	})
}

// A create whose answer is lost is retried by the SDK; the retry meets its
// own first write and must not turn into a spurious failure.
func TestStore_CreateKey_AnswerLost(t *testing.T) {
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	tr := awsfault.New(nil)
	tr.Inject("PutItem", awsfault.Fault{Action: awsfault.Drop, Times: 1})
	store := statestore.New(dynamodb.NewFromConfig(tr.Wrap(cfg)), table)
	ctx := context.Background()
	plain, k, err := store.CreateKey(ctx, "laptop")
	if err != nil {
		t.Fatalf("CreateKey after a lost answer: %v", err)
	}
	if n := tr.Count("PutItem"); n != 2 {
		t.Fatalf("PutItem sent %d times, want 2 (the lost one and the SDK's retry)", n)
	}
	if got, err := store.LookupKey(ctx, plain); err != nil || got.Name != k.Name {
		t.Fatalf("LookupKey = %+v, %v", got, err)
	}
	// A real duplicate (another key under the same name) is still refused.
	if _, _, err := store.CreateKey(ctx, "laptop"); !errors.Is(err, statestore.ErrKeyExists) {
		t.Fatalf("duplicate name: %v", err)
	}
}
