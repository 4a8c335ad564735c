package codex

import (
	"time"
)

// RefreshRate is the per-account refresh budget: a bucket of Burst refreshes
// that refills one every Every, shared by every container through the lease
// item. Secrets Manager keeps unlabelled versions for 24 hours and only
// beyond 100 of them, so a secret written more often than about every 10
// minutes, sustained, reaches its version quota and PutSecretValue fails: a
// rotated token that cannot be stored. The default (10, one per 16 minutes:
// at most 10 + 90 = 100 in any 24 hours, the worst burst-then-sustained case,
// and 90 a day sustained) never refuses ordinary operation (keep-alive every
// few days, a 401 after an import, an operator's forced refresh) while no
// loop can exceed the quota.
type RefreshRate struct {
	Burst int
	Every time.Duration
}

// DefaultRefreshRate is the budget unless WithRefreshRate says otherwise.
var DefaultRefreshRate = RefreshRate{Burst: 10, Every: 16 * time.Minute}

// take spends one refresh from b at now. It returns the budget to store, or
// ok false and when the next refresh will be allowed. A zero budget (never
// stored) is a full bucket; a budget stamped in the future (another
// machine's clock ahead of ours) refills nothing until then.
func (r RefreshRate) take(b RefreshBudget, now time.Time) (next RefreshBudget, retryAt time.Time, ok bool) {
	tokens := float64(r.Burst)
	if !b.At.IsZero() {
		tokens = b.Tokens
		if gap := now.Sub(b.At); gap > 0 {
			tokens += float64(gap) / float64(r.Every)
		}
		tokens = min(tokens, float64(r.Burst))
	}
	if tokens < 1 {
		return b, now.Add(time.Duration((1 - tokens) * float64(r.Every))), false
	}
	return RefreshBudget{Tokens: tokens - 1, At: now}, time.Time{}, true
}

// Left is how many refreshes b allows at now, whole ones only (the
// operator console shows it).
func (r RefreshRate) Left(b RefreshBudget, now time.Time) int {
	if b.At.IsZero() {
		return r.Burst
	}
	tokens := b.Tokens
	if gap := now.Sub(b.At); gap > 0 {
		tokens += float64(gap) / float64(r.Every)
	}
	return int(min(tokens, float64(r.Burst)))
}
