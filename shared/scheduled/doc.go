// Package scheduled holds the two scheduled Lambda handlers of codexgate:
//
//   - QuotaCron (functions/quota-cron, an EventBridge schedule) reads every
//     account's usage, stores a quota snapshot, cools an exhausted account
//     down until its reset and lifts that cooldown once quota is back;
//   - KeepAlive (functions/refresh, a schedule or a manual invoke) renews
//     access tokens that expire within a window, so the proxy rarely
//     refreshes in its hot path, and forces a refresh on request.
//
// Both take every token from the one refresh routine (codex.TokenSource);
// neither calls the token endpoint or writes a secret. The routine's
// cross-container lease makes them safe under EventBridge's at-least-once
// delivery and under overlap with each other and the proxy: concurrent
// callers on one expiring token share one refresh, and a caller that finds
// a token someone else just produced adopts it.
//
// KeepAlive reads every account first, then refreshes the due ones soonest
// expiry first; when the invocation's remaining time no longer fits a
// refresh (codex.ErrNoTime) the rest are reported as deferred, so with many
// accounts the ones that can least wait are never the ones left over.
//
// Accounts are handled with bounded concurrency, and one bad account never
// fails the batch: each run returns a JSON result listing every account's
// outcome, logs it, and writes EMF metrics (package metrics). Only a failure
// to list the accounts fails the invocation.
package scheduled
