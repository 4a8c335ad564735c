// Package dynamolease implements codex.Leaser on a DynamoDB table, with
// conditional writes and a fence counter that only grows.
//
// The table is shared with the rest of codexgate: string keys pk and sk, and
// a TTL attribute ttl that is for clean-up only and never decides expiry. A
// lease is one item, never deleted and never given a ttl, so its fence
// survives every holder:
//
//	pk              S  "lease#<leaseKey>"
//	sk              S  "lease"
//	owner           S  the holder (unique per attempt)
//	fence           N  incremented (ADD) by every acquire
//	expires_at      N  epoch ms by the holder's clock (informational); 0 = released
//	ttl_ms          N  the holder's lease duration
//	beat            N  0 at acquire, incremented (ADD) by every renewal
//	budget_tokens   N  refresh budget left (token bucket) ...
//	budget_at       N  ... as of this epoch ms
//	pending_account S  the secret a holder was about to write...
//	pending_version S  ...the version id it chose before calling OAuth...
//	pending_base    S  ...and the version that one derives from
//	current         M  account → the version the last holder left AWSCURRENT
//	last_refresh    S  RFC3339, the last successful refresh
//	reauth          M  account → {version S, reason S, at S (RFC3339)}
//
// Other items in the same table (see package statestore): pk "accounts" with
// sk "state#<account>" and "quota#<account>", and pk "apikeys" with sk the
// SHA-256 hex of a client key.
//
// Acquire is one UpdateItem conditioned on
// `attribute_not_exists(pk) OR expires_at = 0 OR owner = :me`, or, for a
// takeover, `... OR (owner = :o AND fence = :f AND beat = :b)`: the record
// the caller watched unchanged for a full lease duration on its own clock.
// DynamoDB has no clock and machines' clocks disagree, so no stored time is
// ever compared with the caller's. Every later write is conditioned on
// `owner = :me AND fence = :f`, so a holder that outlived its lease gets
// codex.ErrLeaseLost instead of overwriting a newer holder's state. A write
// whose outcome is unknown (timeout, dropped answer) is resolved by a
// consistent read of the item.
package dynamolease
