package scheduled

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/statestore"
)

// Accounts lists the account names; statestore.Registry (the account
// registry in the table) implements it, and so does secretstore.Store.
type Accounts interface {
	List(ctx context.Context) ([]string, error)
}

// SnapshotAccounts lists the accounts from a loaded state snapshot;
// statestore.Registry implements it. When Accounts does, a run lists the
// accounts and reads their states with one Query.
type SnapshotAccounts interface {
	Accounts(ctx context.Context, snap statestore.Snapshot) []string
}

// listAccounts returns the accounts and the states: from one Load when
// accounts can list from it, else List and then a Load (r may be nil: no
// states). A failed Load is returned as loadErr and leaves the states
// empty; only a failed List is err.
func listAccounts(ctx context.Context, accounts Accounts, r StateReader) (names []string, snap statestore.Snapshot, loadErr, err error) {
	if r != nil {
		snap, loadErr = r.Load(ctx)
	}
	if sa, ok := accounts.(SnapshotAccounts); ok && r != nil && loadErr == nil {
		return sa.Accounts(ctx, snap), snap, nil, nil
	}
	names, err = accounts.List(ctx)
	return names, snap, loadErr, err
}

// DefaultConcurrency bounds how many accounts a run handles at once: enough
// to hide upstream latency (a slow usage endpoint, an OAuth call), few
// enough for a small Lambda and the shared Secrets Manager write quota (50
// writes/s per region; a refresh makes two, spread over its OAuth call).
const DefaultConcurrency = 16

// deadlineLeft is how much of ctx's deadline is left, and whether it has one.
func deadlineLeft(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Deadline()
	if !ok {
		return 0, false
	}
	return time.Until(d), true
}

// Outcome statuses shared by both handlers.
const (
	StatusReauthRequired = "reauth_required" // the login is gone; a person must log in again
	StatusNotFound       = "not_found"       // no secret for the account
	StatusError          = "error"           // anything else; see Outcome.Error
)

// reauthHint is the outcome message of an account skipped because the state
// table marks it reauth_required.
const reauthHint = "account needs re-login: run `codexgate login` or `codexgate import`"

// forEach runs fn for every account, at most n at a time, and returns the
// results in the accounts' order. Accounts are taken strictly in order by n
// workers, so a later account never starts more than n-1 places ahead of
// an earlier one (the keep-alive relies on this to go soonest-first).
func forEach[T any](ctx context.Context, accounts []string, n int, fn func(ctx context.Context, account string) T) []T {
	if n <= 0 {
		n = DefaultConcurrency
	}
	out := make([]T, len(accounts))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, len(accounts)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(accounts) {
					return
				}
				out[i] = fn(ctx, accounts[i])
			}
		})
	}
	wg.Wait()
	return out
}

func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// classify maps an account's error to an outcome status and a message for
// the result. Messages come from typed errors that never carry tokens.
func classify(err error) (status, msg string) {
	switch {
	case errors.Is(err, codex.ErrReauthRequired):
		return StatusReauthRequired, err.Error()
	case errors.Is(err, codex.ErrAccountNotFound):
		return StatusNotFound, err.Error()
	}
	return StatusError, err.Error()
}
