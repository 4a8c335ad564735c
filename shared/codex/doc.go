// Package codex holds codexgate's token domain: the Codex auth.json account
// model, JWT claims, the OAuth token client and the one refresh routine that
// every path (proxy, quota cron, refresh function, CLI) goes through.
//
// OpenAI rotates the refresh token on every refresh, rejects a reused one and
// then revokes the whole login, so the Refresher serialises every write to an
// account's secret across processes, not just goroutines. In the order the
// code runs them (docs/DESIGN.md §3.3 gives each step's reason):
//
//  1. a warm per-container cache answers without any AWS call; concurrent
//     callers in one container share one refresh (single-flight), each
//     waiting at most as long as it asked (AccessOptions.Wait); a cold
//     container caches the version the lease item names;
//  2. the attempt must fit in the caller's deadline (the Lambda's remaining
//     time); without time for a refresh, the secret is still read once and a
//     newer token adopted;
//  3. a Leaser grants a per-ChatGPT-account lease with a fence that only grows;
//     waiters adopt the version the lease item names once the holder
//     publishes it (never what a read of AWSCURRENT shows), and take a lease
//     over only after watching its record stand still for a full lease
//     duration on their own clock (no machine's clock is compared with
//     another's);
//  4. while held, a heartbeat renews the lease whenever a refresh runs long;
//  5. under the lease, a crashed holder's intent is resolved, then the base is
//     read: the version the lease item names as current, by id (a read of
//     AWSCURRENT may lag a promote), and the lease key is checked against it;
//  6. a token someone else already produced is adopted instead of refreshing;
//  7. one write records the new version id (intent) and spends from the
//     account's refresh budget, before OAuth is called;
//  8. the OAuth call runs detached from the caller, retried only when the
//     server surely did not act on it; an answer that may hide a rotation
//     raises the rotated-not-stored alarm;
//  9. the rotated token is written as a pending version, then promoted with a
//     compare-and-swap on the base, retried only while the lease is surely
//     still ours;
//  10. the heartbeat stops, then the lease is released without deleting its
//     fence, naming the versions now current.
//
// A terminal OAuth error marks the account reauth_required. Replace (import,
// login) takes the same lease, so no write to a secret escapes the order.
//
// This package imports no AWS SDK: the lease and the token store are
// interfaces implemented by the dynamolease and secretstore sub-packages.
package codex
