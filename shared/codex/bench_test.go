package codex_test

import (
	"context"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
)

// countingRefresher is a Refresher whose AWS calls are counted at the SDK's
// HTTP layer (every call, retries included).
func countingRefresher(b *testing.B, opts ...codex.Option) (*codex.Refresher, *awsfault.Transport, world) {
	b.Helper()
	w := newWorld(b, openaisim.Options{})
	tr := awsfault.New(nil)
	cfg := tr.Wrap(w.AWS)
	return w.Refresher(&cfg, opts...), tr, w
}

// BenchmarkRefresher_WarmPath: a valid cached token. Target: 0 AWS calls.
//
//	make bench  (or: scripts/with-stack.sh go test -run '^$' -bench Refresher ./shared/codex/)
func BenchmarkRefresher_WarmPath(b *testing.B) {
	r, tr, w := countingRefresher(b)
	tok := w.Sim.AddAccount(openaisim.Account{ID: "acct-warm"})
	w.Import(b, "warm", tok)
	ctx := context.Background()
	if _, err := r.AccessToken(ctx, "warm", codex.AccessOptions{}); err != nil {
		b.Fatal(err)
	}
	tr.Reset()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.AccessToken(ctx, "warm", codex.AccessOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(tr.Total())/float64(b.N), "aws-calls/op")
}

// BenchmarkRefresher_FullRefresh: the upstream rejected the cached token;
// one complete lease → re-read → intent → OAuth → write → promote → release
// → the new version noted in the account's state. Target: ≤ 7 AWS calls.
// The refresh budget (10 per account, then one per 16 min) would stop the
// loop after ten; the benchmark measures a refresh's cost, not the budget.
func BenchmarkRefresher_FullRefresh(b *testing.B) {
	r, tr, w := countingRefresher(b, codex.WithRefreshRate(codex.RefreshRate{Burst: 1 << 20, Every: time.Millisecond}))
	tok := w.Sim.AddAccount(openaisim.Account{ID: "acct-full"})
	w.Import(b, "full", tok)
	ctx := context.Background()
	c, err := r.AccessToken(ctx, "full", codex.AccessOptions{})
	if err != nil {
		b.Fatal(err)
	}
	tr.Reset()
	b.ResetTimer()
	for range b.N {
		if c, err = r.AccessToken(ctx, "full", codex.AccessOptions{Force: true, Rejected: c.Access}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(tr.Total())/float64(b.N), "aws-calls/op")
	if st := w.Sim.Stats(); st.Refreshes != b.N || st.ReuseRejections != 0 {
		b.Fatalf("refreshes=%d reuse=%d for %d ops", st.Refreshes, st.ReuseRejections, b.N)
	}
	for op, n := range tr.Counts() {
		b.Logf("%s: %.2f/op", op, float64(n)/float64(b.N))
	}
}
