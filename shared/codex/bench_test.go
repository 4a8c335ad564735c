package codex_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/awsfault"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
	"github.com/codexgate/codexgate/shared/codex/openaisim"
	"github.com/codexgate/codexgate/shared/codex/secretstore"
)

// countingRefresher is a Refresher whose AWS calls are counted at the SDK's
// HTTP layer (every call, retries included).
func countingRefresher(b *testing.B) (*codex.Refresher, *awsfault.Transport, *world) {
	b.Helper()
	w := newWorld(b, openaisim.Options{})
	tr := awsfault.New(nil)
	cfg := tr.Wrap(testsupport.AWSConfig(b))
	r := codex.NewRefresher(
		secretstore.New(secretsmanager.NewFromConfig(cfg), w.prefix),
		dynamolease.New(dynamodb.NewFromConfig(cfg), w.table),
		w.oauth(), codex.WithLogger(discard()))
	return r, tr, w
}

// BenchmarkRefresher_WarmPath: a valid cached token. Target: 0 AWS calls.
//
//	make bench  (or: scripts/with-stack.sh go test -run '^$' -bench Refresher ./shared/codex/)
func BenchmarkRefresher_WarmPath(b *testing.B) {
	r, tr, w := countingRefresher(b)
	tok := w.sim.AddAccount(openaisim.Account{ID: "acct-warm"})
	putAccount(b, w, "warm", tok)
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
// one complete lease → re-read → intent → OAuth → write → promote → release.
// Target: ≤ 6 AWS calls.
func BenchmarkRefresher_FullRefresh(b *testing.B) {
	r, tr, w := countingRefresher(b)
	tok := w.sim.AddAccount(openaisim.Account{ID: "acct-full"})
	putAccount(b, w, "full", tok)
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
	if st := w.sim.Stats(); st.Refreshes != b.N || st.ReuseRejections != 0 {
		b.Fatalf("refreshes=%d reuse=%d for %d ops", st.Refreshes, st.ReuseRejections, b.N)
	}
	for op, n := range tr.Counts() {
		b.Logf("%s: %.2f/op", op, float64(n)/float64(b.N))
	}
}

func putAccount(tb testing.TB, w *world, account string, tok openaisim.Tokens) {
	tb.Helper()
	a, err := codex.ParseAuthFile(account, w.sim.AuthJSON(tok))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.secrets.Put(context.Background(), account, a); err != nil {
		tb.Fatal(err)
	}
}
