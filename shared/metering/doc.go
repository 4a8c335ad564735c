// Package metering counts what each codexgate key uses and enforces its
// token budgets, per process (a Lambda container, `codexgate serve`): the
// proxy (shared/proxy) tells a Meter each request's final usage after its
// last byte, and asks it before a request whether the key is over budget.
// Neither call waits for the store.
//
//   - usage.go: a request's usage (Record) and the Recorder that stores
//     summed deltas (shared/proxy/awsstores: the state table's day
//     counters, and metrics);
//   - batch.go: the sums per counter (UTC day, key, account, model),
//     written one write per counter at each flush;
//   - budget.go: daily and weekly budgets, checked from per-container
//     counters reloaded in the background (a BudgetSource);
//   - meter.go: Meter, which joins the two: what is added counts for the
//     budget at once and is written at the next flush.
package metering
