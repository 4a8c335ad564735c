package scheduled

import (
	"context"
	"time"

	"github.com/codexgate/codexgate/shared/statestore"
)

// StateReader loads every account's stored health; statestore.Store
// implements it.
type StateReader interface {
	Load(ctx context.Context) (statestore.Snapshot, error)
}

// QuotaStates is the part of the state table the quota cron uses;
// statestore.Store implements it.
type QuotaStates interface {
	StateReader
	PutQuota(ctx context.Context, q statestore.QuotaSnapshot) error
	SetCooldown(ctx context.Context, account string, until time.Time, reason string) error
	ClearCooldown(ctx context.Context, account string) error
}

// ReauthClearer records that an account's login works again; the keep-alive
// calls it after a forced refresh of an account marked reauth_required
// succeeds. statestore.Store implements it.
type ReauthClearer interface {
	ClearReauth(ctx context.Context, account string) error
}

// loadStates returns the stored states by account; nil without a reader.
func loadStates(ctx context.Context, r StateReader) (map[string]statestore.AccountState, error) {
	if r == nil {
		return nil, nil
	}
	snap, err := r.Load(ctx)
	return snap.States, err
}

func reauthRequired(st statestore.AccountState) bool {
	return st.Status == statestore.StatusReauthRequired
}
