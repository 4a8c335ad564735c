package awsstores

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/codexmem"
	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/testclock"
	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/metrics"
	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/statestore"
)

type accounts []string

func (a accounts) List(context.Context) ([]string, error) { return a, nil }

// TestBudgets_WeeklyAgainstTable runs the proxy on the table (keys, usage
// writes, budget reads through these adapters) with an injected clock: a
// weekly budget counts the week's earlier days, which only the table holds
// (Saturday's use, written by "another container"), refuses in each
// front's shape until Monday 00:00 UTC, and starts over then.
func TestBudgets_WeeklyAgainstTable(t *testing.T) {
	cfg := testsupport.AWSConfig(t)
	table := testsupport.NewTable(t, cfg)
	store := statestore.New(dynamodb.NewFromConfig(cfg), table)
	ctx := context.Background()
	plain, _, err := store.CreateKey(ctx, "intern")
	if err != nil {
		t.Fatal(err)
	}
	const weekly = 1000
	week := int64(weekly)
	if err := store.SetKeyBudget(ctx, "intern", statestore.BudgetChange{Weekly: &week}); err != nil {
		t.Fatal(err)
	}
	saturday := time.Date(2026, 5, 2, 15, 0, 0, 0, time.UTC)
	sunday := time.Date(2026, 5, 3, 23, 0, 0, 0, time.UTC)
	monday := time.Date(2026, 5, 4, 0, 0, 1, 0, time.UTC)
	// Last week's Sunday and Saturday of this week, as another container
	// wrote them: only Saturday's counts.
	for _, at := range []time.Time{saturday.AddDate(0, 0, -6), saturday} {
		if err := store.AddUsage(ctx, at, statestore.UsageDelta{Key: "intern", Account: "a", Model: "m", Requests: 1, InputTokens: weekly - 10, OutputTokens: 5}, 0); err != nil {
			t.Fatal(err)
		}
	}

	sim := openaisim.New(openaisim.Options{})
	up := httptest.NewServer(sim)
	t.Cleanup(up.Close)
	secrets := codexmem.NewStore()
	auth, err := codex.ParseAuthFile("a", sim.AuthJSON(sim.AddAccount(openaisim.Account{ID: "a"})))
	if err != nil {
		t.Fatal(err)
	}
	secrets.Seed("a", auth)
	clock := testclock.New(sunday)
	var emf testsupport.Buffer
	p, err := proxy.New(proxy.Config{
		UpstreamURL: up.URL + "/backend-api/codex",
		Tokens: codex.NewRefresher(secrets, codexmem.NewLeaser(time.Now),
			&codex.OAuthClient{TokenURL: up.URL + "/oauth/token", HTTPClient: up.Client()}, codex.WithLogger(slog.New(slog.DiscardHandler))),
		Keys:          Keys{Store: store},
		Accounts:      accounts{"a"},
		Usage:         Usage{Store: store},
		Budgets:       Budgets{Store: store},
		BudgetEvents:  metrics.BudgetEvents{W: metrics.New(&emf)},
		BudgetRefresh: time.Millisecond, // the clock ticks a millisecond per request: every check reloads
		Clock:         clock.Now,
		Logger:        slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	post := func(path, body string) (int, http.Header, string) {
		t.Helper()
		clock.Add(time.Millisecond)
		code, h, b := testsupport.Post(t, srv.Client(), srv.URL+path, plain, body)
		// Every request's usage is written as a Lambda invocation's is.
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		return code, h, b
	}
	// untilRefused sends turns until one is refused; the budget is read in
	// the background, so the first turns of a day may pass.
	untilRefused := func(day string, max int) (served int, body string, h http.Header) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for served <= max && time.Now().Before(deadline) {
			code, hdr, b := post("/v1/responses", testsupport.ResponsesTurn)
			switch code {
			case http.StatusOK:
				served++
				time.Sleep(20 * time.Millisecond) // let the load this check started land
			case http.StatusTooManyRequests:
				return served, b, hdr
			default:
				t.Fatalf("%s: %d %s", day, code, b)
			}
		}
		t.Fatalf("%s: %d turns served, none refused", day, served)
		return
	}

	// Sunday: Saturday's 995 tokens and a turn or two reach the 1000; today
	// alone would take far more turns than untilRefused allows.
	served, body, hdr := untilRefused("sunday", 10)
	nextMonday := time.Date(2026, 5, 4, 0, 0, 0, 0, time.UTC)
	var doc struct {
		Error struct {
			Type, Code, Message string
			ResetsAt            int64 `json:"resets_at"`
		}
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || doc.Error.Type != "insufficient_quota" || doc.Error.Code != "insufficient_quota" ||
		!strings.Contains(doc.Error.Message, "weekly budget of 1000 tokens") || doc.Error.ResetsAt != nextMonday.Unix() || hdr.Get("Retry-After") != "3600" {
		t.Errorf("responses refusal on sunday after %d turns: %v %s", served, hdr, body)
	}
	if code, _, body := post("/v1/chat/completions", `{"model":"gpt-5-codex","messages":[{"role":"user","content":"hi"}]}`); code != http.StatusTooManyRequests ||
		!strings.Contains(body, `"type":"insufficient_quota"`) || !strings.Contains(body, "weekly budget") {
		t.Errorf("chat refusal: %d %s", code, body)
	}
	if code, _, body := post("/v1/messages", `{"model":"claude-sonnet-4-5-20250929","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`); code != http.StatusTooManyRequests ||
		!strings.Contains(body, `"type":"rate_limit_error"`) || !strings.Contains(body, "weekly budget") || !strings.Contains(body, "2026-05-04T00:00:00Z") {
		t.Errorf("messages refusal: %d %s", code, body)
	}
	// One BudgetRefused line per refused request, as app.Proxy wires it.
	if lines := strings.Split(strings.TrimSpace(emf.String()), "\n"); len(lines) != 3 ||
		strings.Count(emf.String(), `"BudgetRefused":1`) != 3 || strings.Count(emf.String(), `"Budget":"weekly"`) != 3 || strings.Count(emf.String(), `"Key":"intern"`) != 3 {
		t.Errorf("EMF after 3 refusals:\n%s", emf.String())
	}
	st := sim.Stats()
	if used, err := store.KeyTokensOn(ctx, "intern", sunday); err != nil || used != int64(st.InputTokens+st.OutputTokens) {
		t.Errorf("sunday's own use in the table: %d, %v; want what the simulator served, %d", used, err, st.InputTokens+st.OutputTokens)
	}
	t.Logf("sunday: %d turns of %d tokens served before the refusal", served, st.LastUsage.InputTokens+st.LastUsage.OutputTokens)

	// Monday 00:00 UTC: a new week; last week's days no longer count.
	clock.Set(monday)
	for i := range 5 {
		if code, _, body := post("/v1/responses", testsupport.ResponsesTurn); code != http.StatusOK {
			t.Fatalf("monday turn %d: %d %s", i+1, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
