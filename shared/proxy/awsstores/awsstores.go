package awsstores

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/codexgate/codexgate/shared/metering"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

// KeyLookup is the statestore call Keys makes.
type KeyLookup interface {
	LookupKey(ctx context.Context, plaintext string) (statestore.APIKey, error)
}

// Keys verifies client keys against the table.
type Keys struct{ Store KeyLookup }

// ClientKeys is the lookup behind Keys for client requests: an admin key
// (statestore.APIKey.Admin) reads the operator console only, so here it is
// statestore.ErrKeyNotFound, whichever of Keys' methods asks.
type ClientKeys struct{ Store KeyLookup }

// LookupKey is Store's, with admin keys unknown.
func (c ClientKeys) LookupKey(ctx context.Context, plaintext string) (statestore.APIKey, error) {
	ak, err := c.Store.LookupKey(ctx, plaintext)
	if err == nil && ak.Admin {
		return statestore.APIKey{}, statestore.ErrKeyNotFound
	}
	return ak, err
}

var (
	_ proxy.KeyVerifier     = Keys{}
	_ proxy.KeyInfoVerifier = Keys{}
)

// VerifyKeyInfo is VerifyKey with the key's token budgets and routing
// controls, all from the one item LookupKey reads.
func (k Keys) VerifyKeyInfo(ctx context.Context, key string) (proxy.KeyInfo, error) {
	ak, err := k.Store.LookupKey(ctx, key)
	switch {
	case errors.Is(err, statestore.ErrKeyNotFound):
		return proxy.KeyInfo{}, proxy.ErrInvalidKey
	case err != nil:
		return proxy.KeyInfo{}, err
	}
	return proxy.KeyInfo{Name: ak.Name, Budget: metering.KeyBudget{Daily: ak.DailyTokens, Weekly: ak.WeeklyTokens},
		Models: ak.Models, Accounts: ak.Accounts, MaxConcurrent: ak.MaxConcurrent}, nil
}

// VerifyKey returns the key's name; an unknown or revoked key is
// proxy.ErrInvalidKey.
func (k Keys) VerifyKey(ctx context.Context, key string) (string, error) {
	info, err := k.VerifyKeyInfo(ctx, key)
	return info.Name, err
}

// StateAPI is the statestore calls States makes.
type StateAPI interface {
	Load(ctx context.Context) (statestore.Snapshot, error)
	SetCooldown(ctx context.Context, account string, until time.Time, reason string) error
	SetUnauthorized(ctx context.Context, account string, until time.Time, strikes int, version string) error
	ClearUnauthorized(ctx context.Context, account string) error
}

// States is the proxy's view of account states and quota snapshots.
type States struct{ Store StateAPI }

var _ proxy.StateStore = States{}

// AccountStates loads every state, quota snapshot and registry item's
// settings (paused, priority) in one Query and merges them per account.
func (s States) AccountStates(ctx context.Context) ([]proxy.AccountState, error) {
	snap, err := s.Store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("account states: %w", err)
	}
	byName := make(map[string]*proxy.AccountState, len(snap.States)+len(snap.Quotas)+len(snap.Settings))
	get := func(name string) *proxy.AccountState {
		if st := byName[name]; st != nil {
			return st
		}
		st := &proxy.AccountState{Account: name}
		byName[name] = st
		return st
	}
	for name, st := range snap.States {
		out := get(name)
		out.ReauthRequired = st.Status == statestore.StatusReauthRequired
		out.CooldownUntil, out.CooldownReason = st.CooldownUntil, st.CooldownReason
		out.CooldownStrikes, out.LoginVersion = st.CooldownStrikes, st.LoginVersion
	}
	for name, q := range snap.Quotas {
		out := get(name)
		out.Quota = quota.Snapshot{FetchedAt: q.FetchedAt, LimitReached: q.LimitReached}
		for _, w := range q.Windows {
			out.Quota.Windows = append(out.Quota.Windows, quota.Window{UsedPercent: w.UsedPercent, ResetAt: w.ResetAt})
		}
	}
	for name, set := range snap.Settings {
		out := get(name)
		out.Paused, out.Priority = set.Paused, set.Priority
	}
	states := make([]proxy.AccountState, 0, len(byName))
	for _, st := range byName {
		states = append(states, *st)
	}
	return states, nil
}

// SetCooldown records a cooldown every container will honour.
func (s States) SetCooldown(ctx context.Context, account string, until time.Time, reason string) error {
	return s.Store.SetCooldown(ctx, account, until, reason)
}

// SetUnauthorized records a 401 cooldown every container will honour.
func (s States) SetUnauthorized(ctx context.Context, account string, until time.Time, strikes int, version string) error {
	return s.Store.SetUnauthorized(ctx, account, until, strikes, version)
}

// ClearUnauthorized ends a 401 cooldown for every container.
func (s States) ClearUnauthorized(ctx context.Context, account string) error {
	return s.Store.ClearUnauthorized(ctx, account)
}

// UsageAdder is the statestore call Usage makes.
type UsageAdder interface {
	AddUsage(ctx context.Context, now time.Time, d statestore.UsageDelta, retention time.Duration) error
}

// Usage stores usage deltas (one request's in a Lambda invocation, a flush
// interval's sum per counter in `codexgate serve`): one atomic add to the
// day's counter of the key, account and model in the table, then, once the
// table holds it, one EMF line with the key's name as dimension when
// ByKey, else without dimension (Metrics may be nil). The metric follows the table: a failed write, which the
// proxy retries at its next flush, emits nothing.
type Usage struct {
	Store     UsageAdder
	Metrics   *metrics.Writer
	Retention time.Duration // of the day counters; <= 0: statestore.DefaultUsageRetention
	// ByKey emits the usage metrics per key (CODEXGATE_DETAILED_METRICS):
	// up to five custom metrics per active key.
	ByKey bool
}

var _ metering.Recorder = Usage{}

// RecordUsage stores and emits u.
func (s Usage) RecordUsage(ctx context.Context, u metering.Record) error {
	if err := s.Store.AddUsage(ctx, u.Time, statestore.UsageDelta{
		Key: u.Key, Account: u.Account, Model: u.Model, Requests: u.Requests,
		InputTokens: u.InputTokens, CachedTokens: u.CachedTokens, OutputTokens: u.OutputTokens, ReasoningTokens: u.ReasoningTokens,
	}, s.Retention); err != nil {
		return err
	}
	key := ""
	if s.ByKey {
		key = u.Key
	}
	s.Metrics.Usage(metrics.RequestUsage{Key: key, Requests: u.Requests, InputTokens: u.InputTokens, CachedTokens: u.CachedTokens, //nolint:errcheck // a metric line is best effort; the table holds the count
		OutputTokens: u.OutputTokens, ReasoningTokens: u.ReasoningTokens})
	return nil
}

// TokensReader is the statestore call Budgets makes.
type TokensReader interface {
	KeyTokensOn(ctx context.Context, name string, day time.Time) (int64, error)
}

// Budgets reads a key's use on a day from the table's usage counters (the
// budgets themselves come with the key: Keys.VerifyKeyInfo).
type Budgets struct{ Store TokensReader }

var _ metering.BudgetSource = Budgets{}

// TokensOn sums the key's counters of day's UTC day.
func (b Budgets) TokensOn(ctx context.Context, name string, day time.Time) (int64, error) {
	return b.Store.KeyTokensOn(ctx, name, day)
}

// SharedLoad is a StateAPI whose concurrent Loads share one Query: the
// pool reads the account list (Accounts) and the states (States) at once,
// and both come from the one read of the accounts partition.
type SharedLoad struct {
	StateAPI

	mu   sync.Mutex
	call *loadCall
}

type loadCall struct {
	done chan struct{}
	snap statestore.Snapshot
	err  error
}

// Load runs the wrapped Load, or waits for the one in flight.
func (s *SharedLoad) Load(ctx context.Context) (statestore.Snapshot, error) {
	s.mu.Lock()
	c := s.call
	if c == nil {
		c = &loadCall{done: make(chan struct{})}
		s.call = c
		s.mu.Unlock()
		c.snap, c.err = s.StateAPI.Load(ctx)
		s.mu.Lock()
		s.call = nil
		s.mu.Unlock()
		close(c.done)
	} else {
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return statestore.Snapshot{}, ctx.Err()
		}
	}
	return c.snap, c.err
}

// Accounts is the proxy's account list: the registry in the table, read
// with the states' Query (Load is a SharedLoad), never ListSecrets.
type Accounts struct {
	Load interface {
		Load(context.Context) (statestore.Snapshot, error)
	}
	Registry statestore.Registry
}

var _ proxy.AccountLister = Accounts{}

// List returns the registered accounts (after the one-time backfill).
func (a Accounts) List(ctx context.Context) ([]string, error) {
	snap, err := a.Load.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("account registry: %w", err)
	}
	return a.Registry.Accounts(ctx, snap), nil
}
