// Package reliability runs codexgate's refresh protocol (docs/DESIGN.md §3) through
// a fault matrix and writes docs/RELIABILITY.md: AWS errors, timeouts and
// lost answers per operation (internal/awsfault), simulator faults on the
// token endpoint, process kills at each refresh step, Lambda deadlines too
// short for a refresh, and a bounded soak with random expiries and
// concurrent cron- and proxy-style callers in separate processes.
//
// It also runs, one row each, the promise scenarios of internal/simworld
// (the ways a login was once lost or wedged under real AWS semantics: writes
// failing longer than a lease, clock skew, stale AWSCURRENT reads, a lease
// key changing under a holder, no time to refresh, an import racing a
// refresh, a pending version without a label, a loop of refreshes against
// the refresh budget), which shared/codex's tests assert on too.
//
// The seeded fault runs (issue 25, seeded_test.go) put several proxy
// containers, wired as deployed, and two accounts under a random schedule
// drawn from each seed (AWS errors and stalls, upstream 401 windows,
// expiries, refresh storms, interrupted CLI refreshes) and check that no
// token is lost and that every request is served within 60 s after the
// faults stop. TestReliability_UpstreamIncident, in `make test`, holds the
// same recovery promise for a 60 s upstream incident alone.
//
// For each row it reports what was injected, requests served, OAuth
// refreshes, reuse rejections, tokens lost and accounts left
// reauth_required. Tokens lost counts logins the simulator revoked (a reuse
// of a spent refresh token revokes the whole login, as OpenAI does), or,
// when more, accounts whose stored login can no longer be refreshed after
// the row (the rotation's refresh token never became current and was not
// recoverable): a fresh container's forced refresh ends in reauth_required.
//
// The soak forces refreshes every few seconds and so runs with a raised
// per-account refresh budget (codex.WithRefreshRate); every other row runs
// with the default.
//
// The matrix is heavy (processes, kills, a soak): it runs only with
// CODEXGATE_RELIABILITY=1, which `make reliability` sets
// (scripts/reliability.sh, under scripts/with-stack.sh).
package reliability
