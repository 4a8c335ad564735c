package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/quota"
	"github.com/codexgate/codexgate/shared/statestore"
)

func TestAccounts_Empty(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	r := s.run("accounts")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "no accounts yet") {
		t.Errorf("stdout = %q", r.stdout)
	}
	r = s.run("accounts", "--json")
	mustSucceed(t, r)
	if strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("--json = %q, want []", r.stdout)
	}
}

func TestAccounts_QuotaAndCooldown(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	fileA, tokA := s.newLogin(openaisim.Account{ID: "11111111-aaaa-bbbb-cccc-222222222222", Name: "kim", Email: "kim@example.com", Plan: "plus"})
	fileB, _ := s.newLogin(openaisim.Account{Name: "lee", Email: "lee@example.com"})
	mustSucceed(t, s.run("import", "--account", "kim", "--auth-file", fileA))
	mustSucceed(t, s.run("import", "--account", "lee", "--auth-file", fileB))

	// What the quota cron and the proxy would have recorded.
	now := time.Now()
	states := statestore.New(dynamodb.NewFromConfig(s.aws), s.table)
	ctx := context.Background()
	err := states.PutQuota(ctx, statestore.QuotaSnapshot{Account: "kim", Snapshot: quota.Snapshot{
		Plan: "pro", Allowed: true, FetchedAt: now.Add(-time.Minute),
		Windows: []quota.Window{
			{Kind: quota.KindWeekly, UsedPercent: 12.5, WindowSeconds: 604800, ResetAt: now.Add(50 * time.Hour)},
			{Kind: quota.Kind5h, UsedPercent: 42, WindowSeconds: 18000, ResetAt: now.Add(2*time.Hour + 10*time.Minute)},
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := states.SetCooldown(ctx, "lee", now.Add(30*time.Minute), "usage_limit_reached"); err != nil {
		t.Fatal(err)
	}
	// The keys the counters belong to: the week by key lists each key's.
	for _, k := range []string{"alice", "bob"} {
		if _, _, err := states.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	// What the proxy counted: kim served alice 3/4 of its week's tokens
	// (one day of it 8 days ago, outside the week), lee nobody.
	for _, u := range []struct {
		at time.Time
		d  statestore.UsageDelta
	}{
		{now, statestore.UsageDelta{Key: "alice", Account: "kim", Model: "gpt-5", InputTokens: 500, OutputTokens: 100}},
		{now.AddDate(0, 0, -6), statestore.UsageDelta{Key: "alice", Account: "kim", Model: "gpt-5-codex", InputTokens: 100, OutputTokens: 200}},
		{now, statestore.UsageDelta{Key: "bob", Account: "kim", Model: "gpt-5", InputTokens: 250, OutputTokens: 50}},
		{now.AddDate(0, 0, -8), statestore.UsageDelta{Key: "bob", Account: "kim", Model: "gpt-5", InputTokens: 10000}},
	} {
		if err := states.AddUsage(ctx, u.at, u.d, 0); err != nil {
			t.Fatal(err)
		}
	}

	r := s.run("accounts")
	mustSucceed(t, r)
	noSecrets(t, r, tokA.AccessToken, tokA.RefreshToken, tokA.AccountID)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME ") {
		t.Fatalf("table:\n%s", r.stdout)
	}
	kim := regexp.MustCompile(`^kim\s+1111\*\*\*\*2222\s+kim@example\.com\s+pro\s+ok\s+-\s+0\s+42%\s+in 2h\d+m\s+12%\s+in 2d\dh\s+-\s+\d+s ago`)
	if !kim.MatchString(lines[1]) || !regexp.MustCompile(`ago\s+alice 75% bob 25%$`).MatchString(lines[1]) {
		t.Errorf("kim row %q does not match %s", lines[1], kim)
	}
	lee := regexp.MustCompile(`^lee\s+\S+\s+lee@example\.com\s+plus\s+ok\s+-\s+0\s+-\s+-\s+-\s+-\s+for (29|30)m \(usage_limit_reached\)`)
	if !lee.MatchString(lines[2]) {
		t.Errorf("lee row %q does not match %s", lines[2], lee)
	}

	rows := accountsJSON(t, s)
	if len(rows) != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	k := rows[0]
	if k.Name != "kim" || k.AccountID != "1111****2222" || k.FiveHour == nil || k.FiveHour.UsedPercent != 42 ||
		k.Weekly == nil || k.Weekly.UsedPercent != 12.5 || k.QuotaFetchedAt == nil || k.TokenExpiresAt == nil || k.LastRefresh == nil {
		t.Errorf("kim = %+v", k)
	}
	if w := k.WeekByKey; len(w) != 2 || w[0] != (keyShare{Key: "alice", Tokens: 900, Share: 0.75}) || w[1] != (keyShare{Key: "bob", Tokens: 300, Share: 0.25}) {
		t.Errorf("kim's week by key = %+v", w)
	}
	if l := rows[1]; len(l.WeekByKey) != 0 || !strings.HasSuffix(lines[2], " -") {
		t.Errorf("lee's week by key = %+v, row %q", l.WeekByKey, lines[2])
	}
	if l := rows[1]; l.CooldownUntil == nil || l.CooldownReason != "usage_limit_reached" || l.FiveHour != nil {
		t.Errorf("lee = %+v", l)
	}
}
