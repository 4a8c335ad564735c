package statestore_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/statestore"
)

// createKeys makes a key of each name: Usage lists the counters of the
// keys the table holds.
func createKeys(t *testing.T, s *statestore.Store, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, _, err := s.CreateKey(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStore_AddUsage_ConcurrentAddsAreExact(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	createKeys(t, e.store, "alice", "bob")
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				key := []string{"alice", "bob"}[(w+i)%2]
				errs <- e.store.AddUsage(ctx, t0, statestore.UsageDelta{Key: key, Account: "acct-a", Model: "gpt-5-codex",
					Requests: 1, InputTokens: int64(100 + i), CachedTokens: int64(i), OutputTokens: 10, ReasoningTokens: 3}, 0)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, err := e.store.Usage(ctx, t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %+v, want one per key", rows)
	}
	var total statestore.UsageRow
	for _, r := range rows {
		if r.Day != "2026-05-01" || r.Account != "acct-a" || r.Model != "gpt-5-codex" || r.Requests != writers*each/2 {
			t.Errorf("row %+v", r)
		}
		total.Requests += r.Requests
		total.InputTokens += r.InputTokens
		total.CachedTokens += r.CachedTokens
		total.OutputTokens += r.OutputTokens
		total.ReasoningTokens += r.ReasoningTokens
	}
	// sum over writers of sum_i (100+i) = 8 * (10*100 + 45)
	want := statestore.UsageRow{Requests: 80, InputTokens: 8 * 1045, CachedTokens: 8 * 45, OutputTokens: 800, ReasoningTokens: 240}
	if total != want {
		t.Errorf("totals %+v, want %+v", total, want)
	}
	if rows[0].Key != "alice" || rows[1].Key != "bob" {
		t.Errorf("rows not sorted by key: %+v", rows)
	}
}

func TestStore_AddUsage_DaysAndTTL(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	beforeMidnight := time.Date(2026, 5, 1, 23, 59, 59, 0, time.UTC)
	afterMidnight := beforeMidnight.Add(2 * time.Second)
	d := statestore.UsageDelta{Key: "k", Account: "a", Model: "m", Requests: 1, InputTokens: 5}
	createKeys(t, e.store, "k")
	for _, at := range []time.Time{beforeMidnight, afterMidnight, afterMidnight} {
		if err := e.store.AddUsage(ctx, at, d, 7*24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := e.store.Usage(ctx, beforeMidnight, afterMidnight)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Day != "2026-05-01" || rows[0].Requests != 1 || rows[1].Day != "2026-05-02" || rows[1].Requests != 2 || rows[1].InputTokens != 10 {
		t.Fatalf("rows = %+v, want 1 request on 05-01 and 2 on 05-02", rows)
	}
	if only, _ := e.store.Usage(ctx, afterMidnight, afterMidnight); len(only) != 1 || only[0].Day != "2026-05-02" {
		t.Errorf("one day's query = %+v", only)
	}
	// ttl: the day's end plus the retention, in epoch seconds.
	for day, end := range map[string]time.Time{"2026-05-01": time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), "2026-05-02": time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC)} {
		items := e.partition(t, "usage#"+day+`#"k"`)
		if len(items) != 1 {
			t.Fatalf("%s: %d items, want 1", day, len(items))
		}
		if ttl, want := testsupport.Num(items[0], "ttl"), strconv.FormatInt(end.Add(7*24*time.Hour).Unix(), 10); ttl != want {
			t.Errorf("%s: ttl %q, want %s", day, ttl, want)
		}
	}
}

func TestStore_AddUsage_NamesDoNotCollide(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	// Joined with a plain separator these two would be the same item.
	createKeys(t, e.store, "a|b", "a")
	for _, d := range []statestore.UsageDelta{{Key: "a|b", Account: "c", Model: "m", Requests: 1}, {Key: "a", Account: "b|c", Model: "m", Requests: 1}} {
		if err := e.store.AddUsage(ctx, t0, d, 0); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := e.store.Usage(ctx, t0, t0)
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows = %+v, %v: want two counters", rows, err)
	}
}

func TestStore_KeyBudget(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	plain, _, err := e.store.CreateKey(ctx, "intern")
	if err != nil {
		t.Fatal(err)
	}
	n := func(v int64) *int64 { return &v }
	budget := func() (int64, int64) {
		t.Helper()
		k, err := e.store.LookupKey(ctx, plain)
		if err != nil {
			t.Fatal(err)
		}
		return k.DailyTokens, k.WeeklyTokens
	}
	for _, tc := range []struct {
		name                string
		change              statestore.BudgetChange
		wantDaily, wantWeek int64
	}{
		{"daily only", statestore.BudgetChange{Daily: n(50000)}, 50000, 0},
		{"weekly only keeps daily", statestore.BudgetChange{Weekly: n(200000)}, 50000, 200000},
		{"both", statestore.BudgetChange{Daily: n(10), Weekly: n(70)}, 10, 70},
		{"remove daily, keep weekly", statestore.BudgetChange{Daily: n(0)}, 0, 70},
		{"set daily, remove weekly", statestore.BudgetChange{Daily: n(5), Weekly: n(0)}, 5, 0},
	} {
		if err := e.store.SetKeyBudget(ctx, "intern", tc.change); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d, w := budget(); d != tc.wantDaily || w != tc.wantWeek {
			t.Errorf("%s: daily %d weekly %d, want %d %d", tc.name, d, w, tc.wantDaily, tc.wantWeek)
		}
	}
	if err := e.store.SetKeyBudget(ctx, "nobody", statestore.BudgetChange{Daily: n(1)}); !errors.Is(err, statestore.ErrKeyNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	for _, bad := range []statestore.BudgetChange{{Weekly: n(-1)}, {Daily: n(3), Weekly: n(-2)}, {}} {
		if err := e.store.SetKeyBudget(ctx, "intern", bad); err == nil {
			t.Errorf("SetKeyBudget(%+v) accepted", bad)
		}
	}
	if d, w := budget(); d != 5 || w != 0 {
		t.Errorf("a refused change changed the budget: %d %d", d, w)
	}
}

// KeyTokensOn reads one key's counters of one day, and no other key's,
// even one whose name begins with it.
func TestStore_KeyTokensOn(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, d := range []statestore.UsageDelta{
		{Key: "intern", Account: "a", Model: "m", Requests: 1, InputTokens: 100, CachedTokens: 50, OutputTokens: 20, ReasoningTokens: 5},
		{Key: "intern", Account: "b", Model: "m2", Requests: 1, InputTokens: 7, OutputTokens: 3},
		{Key: "intern2", Account: "a", Model: "m", Requests: 1, InputTokens: 1000, OutputTokens: 1000},
		{Key: "intern|x", Account: "a", Model: "m", Requests: 1, InputTokens: 1000, OutputTokens: 1000},
		{Key: "other", Account: "a", Model: "m", Requests: 1, InputTokens: 1000, OutputTokens: 1000},
	} {
		if err := e.store.AddUsage(ctx, t0, d, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.AddUsage(ctx, t0.Add(-24*time.Hour), statestore.UsageDelta{Key: "intern", Account: "a", Model: "m", Requests: 1, InputTokens: 9, OutputTokens: 1}, 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		day  time.Time
		want int64
	}{
		{"intern", t0, 130}, // input + output of both counters
		{"intern", t0.Add(-24 * time.Hour), 10},
		{"intern", t0.Add(24 * time.Hour), 0},
		{"intern2", t0, 2000},
		{"intern|x", t0, 2000},
		{"nobody", t0, 0},
	} {
		if used, err := e.store.KeyTokensOn(ctx, tc.key, tc.day); err != nil || used != tc.want {
			t.Errorf("KeyTokensOn(%q, %s) = %d, %v; want %d", tc.key, statestore.UsageDay(tc.day), used, err, tc.want)
		}
	}
}

// Each key's counters of a day are a partition of their own
// (usage#<day>#<quoted key>): Usage reads them one Query per key and day,
// and the day's pre-sharding partition
// (usage#<day>) until TTL removes it, and KeyTokensOn reads only the new.
func TestStore_Usage_ShardedByKeyWithLegacy(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	createKeys(t, e.store, "alice", "bob")
	for _, d := range []statestore.UsageDelta{
		{Key: "alice", Account: "a", Model: "m", Requests: 1, InputTokens: 10, OutputTokens: 1},
		{Key: "bob", Account: "a", Model: "m", Requests: 2, InputTokens: 20, OutputTokens: 2},
	} {
		if err := e.store.AddUsage(ctx, t0, d, 0); err != nil {
			t.Fatal(err)
		}
	}
	day := statestore.UsageDay(t0)
	for _, tc := range []struct{ pk, key string }{{"usage#" + day + `#"alice"`, "alice"}, {"usage#" + day + `#"bob"`, "bob"}} {
		items := e.partition(t, tc.pk)
		if len(items) != 1 {
			t.Fatalf("partition %s: %d items, want 1", tc.pk, len(items))
		}
		if k := testsupport.Str(items[0], "key"); k != tc.key {
			t.Errorf("partition %s holds key %q, want %s", tc.pk, k, tc.key)
		}
	}
	// A counter as the pre-sharding code wrote it.
	legacy := map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "usage#" + day}, "sk": &types.AttributeValueMemberS{Value: `"alice"|"old"|"m"`},
		"day": &types.AttributeValueMemberS{Value: day}, "key": &types.AttributeValueMemberS{Value: "alice"},
		"account": &types.AttributeValueMemberS{Value: "old"}, "model": &types.AttributeValueMemberS{Value: "m"},
		"requests": &types.AttributeValueMemberN{Value: "4"}, "input_tokens": &types.AttributeValueMemberN{Value: "400"},
		"output_tokens": &types.AttributeValueMemberN{Value: "40"},
	}
	if _, err := e.ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: legacy}); err != nil {
		t.Fatal(err)
	}
	rows, err := e.store.Usage(ctx, t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Key+"/"+r.Account+"/"+strconv.FormatInt(r.Requests, 10))
	}
	if want := []string{"alice/a/1", "alice/old/4", "bob/a/2"}; !slices.Equal(got, want) {
		t.Errorf("Usage = %v, want %v", got, want)
	}
	if used, err := e.store.KeyTokensOn(ctx, "alice", t0); err != nil || used != 11 {
		t.Errorf("KeyTokensOn(alice) = %d, %v; want 11 (the sharded counter only)", used, err)
	}
}
