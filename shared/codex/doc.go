// Package codex holds codexgate's token domain: the Codex auth.json account
// model, JWT claims, the OAuth token client and the one refresh routine that
// every path (proxy, quota cron, refresh function, CLI) goes through.
//
// OpenAI rotates the refresh token on every refresh and rejects a reused one,
// so the Refresher serialises refreshes across processes, not just goroutines:
//
//  1. a warm per-container cache answers without any AWS call; concurrent
//     callers in one container share one refresh (single-flight);
//  2. the attempt must fit in the caller's deadline (the Lambda's remaining time);
//  3. a Leaser grants a per-ChatGPT-account lease with a fence that only grows;
//  4. under the lease the current secret is re-read, and a token someone else
//     already produced is adopted instead of refreshing again;
//  5. the new secret version id is recorded on the lease before OAuth is called;
//  6. the OAuth call runs detached from the caller, retrying transient errors only;
//  7. the rotated token is written as a pending version, then promoted with a
//     compare-and-swap on the version read in step 4;
//  8. the lease is released without deleting its fence;
//  9. a later holder promotes a pending version a crashed holder left behind,
//     and a terminal OAuth error marks the account reauth_required.
//
// This package imports no AWS SDK: the lease and the token store are
// interfaces implemented by the dynamolease and secretstore sub-packages.
package codex
