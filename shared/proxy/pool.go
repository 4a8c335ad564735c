package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/codexgate/codexgate/shared/quota"
)

// pool tracks the accounts and picks one per attempt. It combines the state
// table (loaded in one call, refreshed in the background every
// AccountsRefresh, so a warm request makes no store call) with what this
// container saw itself: cooldowns it set, short rate-limit backoffs, logins
// found dead, and the x-codex-* quota headers of recent responses.
type pool struct {
	cfg *Config
	aff *affinity

	mu       sync.Mutex
	names    []string // sorted: the deterministic tie-break
	stored   map[string]AccountState
	local    map[string]*localState
	loadedAt time.Time     // start of the last successful load; zero = never
	lastTry  time.Time     // start of the last load attempt
	loading  chan struct{} // closed when the running load ends; nil = none runs
	loadErr  error
	logins   map[string]string // LoginVersion per account, as last loaded
}

// localState is what this container learned about an account since the
// last load.
type localState struct {
	cooldownUntil  time.Time
	cooldownReason string
	cooldownSetAt  time.Time
	persisted      bool // the cooldown reached the store: a later load is the truth
	strikes        int  // 401 cooldowns in a row set here (see unauthorized)
	probing        bool // a request of this container probes the account
	backoffUntil   time.Time
	reauthAt       time.Time      // the token source said ErrReauthRequired
	live           quota.Snapshot // from response headers
}

const (
	// poolLoadTimeout bounds one load of accounts and states.
	poolLoadTimeout = 10 * time.Second
	// poolRetryEvery spaces background reloads after a failed one.
	poolRetryEvery = 5 * time.Second
	// storeWriteTimeout bounds a SetCooldown call; it runs detached from the
	// client so a disconnect cannot lose it.
	storeWriteTimeout = 5 * time.Second
)

func newPool(cfg *Config) *pool {
	return &pool{
		cfg:    cfg,
		aff:    newAffinity(cfg.AffinityTTL, cfg.AffinitySize),
		stored: map[string]AccountState{},
		local:  map[string]*localState{},
		logins: map[string]string{},
	}
}

// ensure makes sure the pool has been loaded once, waiting for the first
// load; later it only starts a background reload when the data is stale.
func (p *pool) ensure(ctx context.Context) error {
	p.mu.Lock()
	now := p.cfg.Clock()
	if !p.loadedAt.IsZero() {
		if p.loading == nil && now.Sub(p.loadedAt) >= p.cfg.AccountsRefresh && now.Sub(p.lastTry) >= poolRetryEvery {
			p.startLoadLocked(ctx, now)
		}
		p.mu.Unlock()
		return nil
	}
	ch := p.loading
	if ch == nil {
		ch = p.startLoadLocked(ctx, now)
	}
	p.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.loadedAt.IsZero() {
		return fmt.Errorf("%w: %w", errPoolUnavailable, p.loadErr)
	}
	return nil
}

// startLoadLocked runs one load in the background, detached from the
// request that triggered it.
func (p *pool) startLoadLocked(ctx context.Context, now time.Time) chan struct{} {
	ch := make(chan struct{})
	p.loading, p.lastTry = ch, now
	lctx, cancel := detached(ctx, poolLoadTimeout)
	go func() {
		defer cancel()
		names, states, err := p.fetch(lctx)
		p.mu.Lock()
		if err != nil {
			p.loadErr = err
			p.cfg.Logger.LogAttrs(lctx, slog.LevelWarn, "load account pool", slog.String("error", err.Error()))
		} else {
			p.applyLocked(names, states, now)
		}
		p.loading = nil
		p.mu.Unlock()
		close(ch)
	}()
	return ch
}

// fetch reads the account list and the states. They are independent
// reads, made concurrently: one round trip instead of two on a cold
// container's first request.
func (p *pool) fetch(ctx context.Context) ([]string, []AccountState, error) {
	var states []AccountState
	var statesErr error
	done := make(chan struct{})
	if p.cfg.States != nil {
		go func() {
			defer close(done)
			states, statesErr = p.cfg.States.AccountStates(ctx)
		}()
	} else {
		close(done)
	}
	names, err := p.cfg.Accounts.List(ctx)
	<-done
	if err != nil {
		return nil, nil, fmt.Errorf("list accounts: %w", err)
	}
	if statesErr != nil {
		return nil, nil, fmt.Errorf("load account states: %w", statesErr)
	}
	return names, states, nil
}

// applyLocked installs a load that started at started. Local verdicts older
// than the load and already in the store give way to the store (an operator
// may have cleared them); newer ones and unpersisted ones stay.
func (p *pool) applyLocked(names []string, states []AccountState, started time.Time) {
	names = slices.Clone(names)
	slices.Sort(names)
	p.names = slices.Compact(names)
	clear(p.stored)
	for _, st := range states {
		p.stored[st.Account] = st
		if old, ok := p.logins[st.Account]; ok && old != st.LoginVersion && st.LoginVersion != "" {
			// A login was stored since the last load (possibly of another
			// ChatGPT account): the cached token is the old login's.
			if f, ok := p.cfg.Tokens.(tokenForgetter); ok {
				f.Forget(st.Account, st.LoginVersion)
			}
			delete(p.local, st.Account)
		}
		p.logins[st.Account] = st.LoginVersion
	}
	for name, l := range p.local {
		if _, ok := slices.BinarySearch(p.names, name); !ok {
			delete(p.local, name)
			continue
		}
		if l.persisted && l.cooldownSetAt.Before(started) {
			l.cooldownUntil, l.cooldownReason, l.persisted, l.strikes = time.Time{}, "", false, 0
		}
		if l.reauthAt.Before(started) {
			l.reauthAt = time.Time{}
		}
	}
	p.loadedAt, p.loadErr = started, nil
}

// tokenForgetter is implemented by a token source with a per-container
// cache (*codex.Refresher): Forget drops an account's cached token unless
// it is version.
type tokenForgetter interface {
	Forget(account, version string)
}

func (p *pool) localLocked(name string) *localState {
	l := p.local[name]
	if l == nil {
		l = &localState{}
		p.local[name] = l
	}
	return l
}

// reasonPaused: an operator paused the account (`codexgate accounts pause`).
const reasonPaused = "paused"

// blocked says why an account cannot be used now ("" = usable) and until
// when (zero for reauth and paused).
func (p *pool) blockedLocked(name string, now time.Time) (string, time.Time) {
	st := p.stored[name]
	if st.Paused {
		return reasonPaused, time.Time{}
	}
	l := p.local[name]
	if st.ReauthRequired || (l != nil && !l.reauthAt.IsZero()) {
		return "reauth_required", time.Time{}
	}
	reason, until := "", time.Time{}
	if now.Before(st.CooldownUntil) {
		reason, until = st.CooldownReason, st.CooldownUntil
	}
	if l != nil && now.Before(l.cooldownUntil) && l.cooldownUntil.After(until) {
		reason, until = l.cooldownReason, l.cooldownUntil
	}
	if reason == "" && !until.IsZero() {
		reason = "cooldown"
	}
	if reason == "" && l != nil && now.Before(l.backoffUntil) {
		reason, until = "rate_limit_exceeded", l.backoffUntil
	}
	return reason, until
}

// pick chooses the account for the next attempt: the conversation's
// account while it is usable, else the first usable account in the
// strategy's order (rank.before: priority, then the strategy, then name).
// tried holds the accounts this request already used. When every account left is cooling down after 401s, one request at
// a time probes the one whose cooldown ends first (probe true; the caller
// calls probeDone): service comes back as soon as the upstream does. With
// none usable it returns the error for the client. A key bound to accounts
// (allowed not nil) is served by those only: every step ignores the rest.
func (p *pool) pick(session string, tried map[string]bool, allowed accountSet) (name string, probe bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Clock()
	if session != "" {
		if n := p.aff.get(session, now); n != "" && allowed.has(n) && p.usableLocked(n, tried, now) {
			if _, listed := slices.BinarySearch(p.names, n); listed {
				p.aff.set(session, n, now)
				return n, false, nil
			}
		}
	}
	var best rank
	for _, n := range p.names {
		if !allowed.has(n) || !p.usableLocked(n, tried, now) {
			continue
		}
		if r := p.rankLocked(n, now); best.name == "" || r.before(best, p.cfg.Strategy) {
			best = r
		}
	}
	if best.name == "" {
		if n := p.probeLocked(tried, allowed, now); n != "" {
			return n, true, nil
		}
		return "", false, p.unavailableLocked(now, allowed)
	}
	if session != "" {
		p.aff.set(session, best.name, now)
	}
	return best.name, false, nil
}

func (p *pool) usableLocked(n string, tried map[string]bool, now time.Time) bool {
	if tried[n] {
		return false
	}
	why, _ := p.blockedLocked(n, now)
	return why == ""
}

// hasOther reports whether an account other than those tried could serve
// now (among allowed): a request waiting on a refresh elsewhere may then
// give up sooner.
func (p *pool) hasOther(tried map[string]bool, allowed accountSet) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Clock()
	for _, n := range p.names {
		if allowed.has(n) && p.usableLocked(n, tried, now) {
			return true
		}
	}
	return false
}

// probeLocked picks, among allowed accounts not tried that cool down after
// 401s and that no request of this container probes yet, the one whose
// cooldown ends first, and marks it probed.
func (p *pool) probeLocked(tried map[string]bool, allowed accountSet, now time.Time) string {
	best, bestUntil := "", time.Time{}
	for _, n := range p.names {
		why, until := p.blockedLocked(n, now)
		if tried[n] || !allowed.has(n) || why != quota.CooldownUnauthorized || (p.local[n] != nil && p.local[n].probing) {
			continue
		}
		if best == "" || until.Before(bestUntil) {
			best, bestUntil = n, until
		}
	}
	if best != "" {
		p.localLocked(best).probing = true
	}
	return best
}

// probeDone ends the probe pick started on name.
func (p *pool) probeDone(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.local[name]; l != nil {
		l.probing = false
	}
}

// unavailableLocked explains why no allowed account is usable: 429 with
// the earliest reset when every one is past its usage limit, 429 with a
// retry time when the rest are only rate limited, else errNoAccount.
func (p *pool) unavailableLocked(now time.Time, allowed accountSet) error {
	var usage, retry time.Time
	allUsage, allLimited, active := true, true, false
	for _, n := range p.names {
		if !allowed.has(n) {
			continue
		}
		why, until := p.blockedLocked(n, now)
		if why == reasonPaused {
			continue // not in the pool: says nothing of when service returns
		}
		active = true
		switch why {
		case quota.CooldownUsageLimit:
			usage = earliest(usage, until)
			retry = earliest(retry, until)
		case "rate_limit_exceeded":
			allUsage = false
			retry = earliest(retry, until)
		default:
			allUsage, allLimited = false, false
		}
	}
	switch {
	case !active:
		return errNoAccount
	case allUsage:
		return errUsageLimit(usage)
	case allLimited:
		return errRateLimited(retry)
	}
	return errNoAccount
}

// accountSet is the accounts a key is bound to (keys create --accounts);
// nil: every account.
type accountSet map[string]bool

func (s accountSet) has(n string) bool { return s == nil || s[n] }

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// headroomLocked is 100 minus the highest used percentage of any current
// window, from the fresher of the stored snapshot and live headers. Unknown
// quota counts as full headroom.
func (p *pool) headroomLocked(name string, now time.Time) float64 {
	q := p.quotaLocked(name)
	used, current := 0.0, 0
	for _, w := range q.Windows {
		if w.ResetAt.IsZero() || now.Before(w.ResetAt) {
			used = max(used, w.UsedPercent)
			current++
		}
	}
	if q.LimitReached && (current > 0 || len(q.Windows) == 0) {
		used = 100
	}
	return 100 - min(used, 100)
}

// quotaLocked is the fresher of the stored snapshot and live headers.
func (p *pool) quotaLocked(name string) quota.Snapshot {
	q := p.stored[name].Quota
	if l := p.local[name]; l != nil && l.live.FetchedAt.After(q.FetchedAt) {
		q = l.live
	}
	return q
}

// cooldown keeps every container off the account until until: recorded
// here at once, then in the store (detached from the client, bounded).
func (p *pool) cooldown(ctx context.Context, name string, until time.Time, reason string) {
	p.mu.Lock()
	now := p.cfg.Clock()
	l := p.localLocked(name)
	l.cooldownUntil, l.cooldownReason, l.cooldownSetAt, l.persisted = until, reason, now, false
	p.mu.Unlock()
	p.persistCooldown(ctx, name, l, now, reason, until, func(ctx context.Context) error {
		return p.cfg.States.SetCooldown(ctx, name, until, reason)
	})
}

// persistCooldown runs write (detached from the client, bounded) and marks
// the local cooldown set at setAt as in the store.
func (p *pool) persistCooldown(ctx context.Context, name string, l *localState, setAt time.Time, reason string, until time.Time, write func(context.Context) error) {
	if p.cfg.States == nil {
		return
	}
	sctx, cancel := detached(ctx, storeWriteTimeout)
	defer cancel()
	if err := write(sctx); err != nil {
		p.cfg.Logger.LogAttrs(ctx, slog.LevelError, "record cooldown", slog.String("account", name),
			slog.String("reason", reason), slog.Time("until", until), slog.String("error", err.Error()))
		return
	}
	p.mu.Lock()
	if l.cooldownSetAt.Equal(setAt) {
		l.persisted = true
	}
	p.mu.Unlock()
}

// strikesLocked is how many 401 cooldowns in a row the account has had, as
// far as this container knows.
func (p *pool) strikesLocked(name string) int {
	n := 0
	if st := p.stored[name]; st.CooldownReason == quota.CooldownUnauthorized {
		n = st.CooldownStrikes
	}
	if l := p.local[name]; l != nil {
		n = max(n, l.strikes)
	}
	return n
}

// onProbation reports whether the account's last answers were 401s with no
// success since: another 401 then says more of the upstream than of the
// token, and spends no refresh.
func (p *pool) onProbation(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.strikesLocked(name) > 0
}

// unauthorized cools the account down after a 401 that no refresh can fix
// (a token just minted, or an account already on probation), for every
// container: UnauthorizedCooldown doubled per strike in a row, at most
// UnauthorizedCooldownMax. A 401 while the account still cools down (a
// probe's) leaves the cooldown as it is: the length grows with the time the
// upstream keeps refusing, not with the requests that found out. version is
// the secret version of the rejected token: a newer one stored lifts the
// cooldown (codex.AccountStates).
func (p *pool) unauthorized(ctx context.Context, name, version string) time.Time {
	p.mu.Lock()
	now := p.cfg.Clock()
	if why, until := p.blockedLocked(name, now); why == quota.CooldownUnauthorized {
		p.mu.Unlock()
		return until
	}
	strikes := p.strikesLocked(name) + 1
	d := p.cfg.UnauthorizedCooldown
	for i := 1; i < strikes && d < p.cfg.UnauthorizedCooldownMax; i++ {
		d *= 2
	}
	until := now.Add(min(d, p.cfg.UnauthorizedCooldownMax))
	l := p.localLocked(name)
	l.cooldownUntil, l.cooldownReason, l.cooldownSetAt, l.persisted, l.strikes = until, quota.CooldownUnauthorized, now, false, strikes
	p.mu.Unlock()
	p.persistCooldown(ctx, name, l, now, quota.CooldownUnauthorized, until, func(ctx context.Context) error {
		return p.cfg.States.SetUnauthorized(ctx, name, until, strikes, version)
	})
	return until
}

// authorized records that the upstream accepted the account's token: a
// 401 cooldown series ends, here and, if the store has one, for every
// container. Costs nothing when there is none.
func (p *pool) authorized(ctx context.Context, name string) {
	p.mu.Lock()
	stored := p.stored[name].CooldownReason == quota.CooldownUnauthorized
	l := p.local[name]
	local := l != nil && (l.strikes > 0 || l.cooldownReason == quota.CooldownUnauthorized)
	if !stored && !local {
		p.mu.Unlock()
		return
	}
	if local {
		if l.cooldownReason == quota.CooldownUnauthorized {
			l.cooldownUntil, l.cooldownReason, l.persisted = time.Time{}, "", false
		}
		l.strikes = 0
	}
	if stored {
		st := p.stored[name]
		st.CooldownUntil, st.CooldownReason, st.CooldownStrikes = time.Time{}, "", 0
		p.stored[name] = st
	}
	p.mu.Unlock()
	if p.cfg.States == nil {
		return
	}
	sctx, cancel := detached(ctx, storeWriteTimeout)
	defer cancel()
	if err := p.cfg.States.ClearUnauthorized(sctx, name); err != nil {
		p.cfg.Logger.LogAttrs(ctx, slog.LevelError, "clear cooldown", slog.String("account", name), slog.String("error", err.Error()))
	}
}

// backoff pauses the account in this container only (transient limits).
func (p *pool) backoff(name string, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.localLocked(name); until.After(l.backoffUntil) {
		l.backoffUntil = until
	}
}

// reauth takes the account out until the next load (the refresher records
// reauth_required in the store itself).
func (p *pool) reauth(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.localLocked(name).reauthAt = p.cfg.Clock()
}

// observe keeps the quota reading of a response's x-codex-* headers.
func (p *pool) observe(name string, q quota.Snapshot) {
	if q.FetchedAt.IsZero() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.localLocked(name).live = q
}

// AccountsLoadedAt is when this process last loaded the account list and
// states (zero: never); the operator console shows its age.
func (p *Proxy) AccountsLoadedAt() time.Time {
	p.pool.mu.Lock()
	defer p.pool.mu.Unlock()
	return p.pool.loadedAt
}
