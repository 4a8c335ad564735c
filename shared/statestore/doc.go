// Package statestore keeps codexgate's account health, quota snapshots and
// client API keys in the DynamoDB table shared with the leases.
//
// Table layout (one table; string keys pk and sk; a TTL attribute ttl for
// clean-up only, never read to decide expiry):
//
//	lease      pk "lease#<leaseKey>"  sk "lease"              package dynamolease
//	state      pk "accounts"          sk "state#<account>"    account S, status S ("ok" | "reauth_required"),
//	                                                          reason S, status_at S (RFC3339),
//	                                                          cooldown_until N (epoch ms), cooldown_reason S,
//	                                                          updated_at S (RFC3339)
//	registry   pk "accounts"          sk "registry#<account>" account S, updated_at S: the account list
//	                                                          (Registry; never ListSecrets); the routing
//	                                                          settings paused BOOL, paused_at S,
//	                                                          priority N (AccountSettings, optional)
//	marker     pk "accounts"          sk "registry"           updated_at S: the one-time backfill ran
//	quota      pk "accounts"          sk "quota#<account>"    account, plan, allowed, limit_reached,
//	                                                          windows L of {kind, used_percent,
//	                                                          window_seconds, reset_at}, credits M {has_credits,
//	                                                          unlimited, balance},
//	                                                          fetched_at, updated_at
//	API key    pk "apikeys"           sk SHA-256 hex of key   name S, prefix S (first 8 characters of
//	                                                          the key), created_at S, revoked BOOL,
//	                                                          revoked_at S, daily_tokens N, weekly_tokens N
//	                                                          (budgets, optional)
//	                                                          models L of S, accounts L of S,
//	                                                          max_concurrent N (routing controls, optional:
//	                                                          keyctl.go)
//	                                                          admin BOOL (an admin
//	                                                          key: the operator console only)
//	event      pk "events"            sk "<time>#<kind>#"<account>"" at, account, kind, reason S; ttl N
//	                                                          (refresh events, newest read first)
//	usage      pk "usage#<YYYY-MM-DD>#"<key>"" sk "<key>"|"<account>"|"<model>" (Go-quoted names)
//	                                                          day, key, account, model S; requests,
//	                                                          input_tokens, cached_input_tokens,
//	                                                          output_tokens, reasoning_tokens N (atomic
//	                                                          ADD, one UpdateItem per flushed delta); ttl N
//	                                                          (epoch s: the day's end + retention)
//
// One Query on pk "usage#<day>#"<key>"" returns one key's usage of a day
// (KeyTokensOn); Usage makes one per listed key and day, plus one on the
// pre-sharding partition "usage#<day>" of each day, until TTL removes it.
// One Query on pk "accounts" returns every registry, state and quota item
// (Load).
// Client API keys are stored only as their SHA-256 digest: the plaintext is
// returned once by CreateKey and never stored or logged.
//
// Files: store.go (states, Load), quota.go, registry.go, keys.go (API keys,
// admin keys), budget.go, usage.go, events.go (refresh events and EventLog,
// the best-effort codex.Events that records them).
package statestore
