package codex

import "time"

// The time budgets of one refresh, in one place. They nest: the lease must
// outlast the OAuth call and the durable write.
const (
	// DefaultOAuthBudget bounds the whole OAuth call, retries included. An
	// attempt has no shorter bound of its own: an attempt that times out is
	// never sent again (see OAuthClient.Refresh).
	DefaultOAuthBudget = 20 * time.Second
	// DefaultPersistBudget bounds one attempt of the durable write or the
	// promote; both are retried for as long as the lease is surely held.
	DefaultPersistBudget = 15 * time.Second
	// DefaultLeaseTTL is a lease's duration; heartbeats renew it every third
	// of it while a refresh runs long.
	DefaultLeaseTTL = 45 * time.Second
	// margin keeps the last steps (release, response) inside every budget.
	margin = 3 * time.Second
	// releaseTimeout bounds the release and the state write after it; both
	// run detached from the caller.
	releaseTimeout = 5 * time.Second
	// DefaultSkew: an access token expiring within it is refreshed before
	// use (Codex CLI uses the same margin).
	DefaultSkew = 5 * time.Minute
	// flightWait bounds a flight whose caller set no deadline (the CLI,
	// `codexgate serve`); under Lambda the invocation's deadline does.
	flightWait = 2 * time.Minute
	// reauthMemoFor is how long a container remembers a dead login without
	// asking the store again: a burst fails fast, a new login is noticed.
	reauthMemoFor = 30 * time.Second
)
