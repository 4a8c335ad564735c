// Package reliability runs codexgate's refresh protocol (docs/DESIGN.md §3) through
// a fault matrix and writes docs/RELIABILITY.md: AWS errors, timeouts and
// lost answers per operation (internal/awsfault), simulator faults on the
// token endpoint, process kills at each refresh step, Lambda deadlines too
// short for a refresh, and a bounded soak with random expiries and
// concurrent cron- and proxy-style callers in separate processes.
//
// For each row it reports what was injected, requests served, OAuth
// refreshes, reuse rejections, tokens lost and accounts left
// reauth_required. A token is lost when, after the row, the stored login can
// no longer be refreshed (the rotation's refresh token never became current
// and was not recoverable): a fresh container's forced refresh ends in
// reauth_required.
//
// The matrix is heavy (processes, kills, a soak): it runs only with
// CODEXGATE_RELIABILITY=1, which `make reliability` sets
// (scripts/reliability.sh, under scripts/with-stack.sh).
package reliability
