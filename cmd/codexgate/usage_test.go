package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/statestore"
)

func usageJSON(t *testing.T, s *stack, args ...string) []statestore.UsageRow {
	t.Helper()
	r := s.run(append([]string{"usage", "--json"}, args...)...)
	mustSucceed(t, r)
	var rows []statestore.UsageRow
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rows); err != nil {
		t.Fatalf("usage --json: %v\n%s", err, r.stdout)
	}
	return rows
}

func TestUsage_TableAndJSON(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	r := s.run("usage")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "no usage recorded in the last 7 day(s)") {
		t.Errorf("empty: %q", r.stdout)
	}
	if rows := usageJSON(t, s); rows == nil || len(rows) != 0 {
		t.Errorf("empty --json = %+v, want []", rows)
	}

	now := time.Now().UTC()
	today, yesterday := statestore.UsageDay(now), statestore.UsageDay(now.AddDate(0, 0, -1))
	store := statestore.New(dynamodb.NewFromConfig(s.aws), s.table)
	ctx := context.Background()
	// The keys the counters belong to: usage lists each key's counters.
	mustSucceed(t, s.run("keys", "create", "--name", "alice"))
	mustSucceed(t, s.run("keys", "create", "--name", "bob"))
	for _, u := range []struct {
		at time.Time
		d  statestore.UsageDelta
	}{
		{now, statestore.UsageDelta{Key: "alice", Account: "kim", Model: "gpt-5-codex", Requests: 3, InputTokens: 9000, CachedTokens: 4000, OutputTokens: 1000, ReasoningTokens: 300}},
		{now, statestore.UsageDelta{Key: "alice", Account: "lee", Model: "gpt-5-codex", Requests: 1, InputTokens: 1000, OutputTokens: 200}},
		{now, statestore.UsageDelta{Key: "bob", Account: "kim", Model: "gpt-5", Requests: 2, InputTokens: 2000, CachedTokens: 10, OutputTokens: 750, ReasoningTokens: 5}},
		{now.AddDate(0, 0, -1), statestore.UsageDelta{Key: "bob", Account: "lee", Model: "gpt-5", Requests: 1, InputTokens: 100, OutputTokens: 20}},
		{now.AddDate(0, 0, -8), statestore.UsageDelta{Key: "bob", Account: "lee", Model: "gpt-5", Requests: 1, InputTokens: 1, OutputTokens: 1}},
	} {
		if err := store.AddUsage(ctx, u.at, u.d, 0); err != nil {
			t.Fatal(err)
		}
	}

	r = s.run("usage")
	mustSucceed(t, r)
	t.Logf("codexgate usage:\n%s", r.stdout)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	want := []string{
		`^DAY\s+KEY\s+REQUESTS\s+INPUT\s+CACHED\s+OUTPUT\s+REASONING\s+TOTAL$`,
		`^` + yesterday + `\s+bob\s+1\s+100\s+0\s+20\s+0\s+120\s+▎$`, // 120/11200 of 24 blocks: 2 eighths
		`^` + yesterday + `\s+\(all keys\)\s+1\s+100\s+0\s+20\s+0\s+120$`,
		`^` + today + `\s+alice\s+4\s+10000\s+4000\s+1200\s+300\s+11200\s+█{24}$`,
		`^` + today + `\s+bob\s+2\s+2000\s+10\s+750\s+5\s+2750\s+█{5}▉$`, // 2750/11200*192 = 47.1 eighths
		`^` + today + `\s+\(all keys\)\s+6\s+12000\s+4010\s+1950\s+305\s+13950$`,
		`^all days\s+alice\s+4\s+10000\s+4000\s+1200\s+300\s+11200$`,
		`^all days\s+bob\s+3\s+2100\s+10\s+770\s+5\s+2870$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), r.stdout)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}

	rows := usageJSON(t, s)
	if len(rows) != 4 {
		t.Fatalf("--json rows = %+v, want the 4 counters of the last 7 days", rows)
	}
	if got, want := rows[1], (statestore.UsageRow{Day: today, Key: "alice", Account: "kim", Model: "gpt-5-codex", Requests: 3,
		InputTokens: 9000, CachedTokens: 4000, OutputTokens: 1000, ReasoningTokens: 300}); got != want {
		t.Errorf("row %+v, want %+v", got, want)
	}
	for _, tc := range []struct {
		args []string
		n    int
	}{
		{[]string{"--key", "bob"}, 2},
		{[]string{"--account", "lee"}, 2},
		{[]string{"--key", "bob", "--account", "lee", "--days", "9"}, 2},
		{[]string{"--days", "1"}, 3},
		{[]string{"--key", "nobody"}, 0},
	} {
		if rows := usageJSON(t, s, tc.args...); len(rows) != tc.n {
			t.Errorf("%v: %d rows, want %d: %+v", tc.args, len(rows), tc.n, rows)
		}
	}
	// The raw JSON uses the documented field names.
	r = s.run("usage", "--json", "--days", "1", "--key", "bob")
	for _, f := range []string{`"day"`, `"key"`, `"account"`, `"model"`, `"requests"`, `"input_tokens"`, `"cached_input_tokens"`, `"output_tokens"`, `"reasoning_tokens"`} {
		if !strings.Contains(r.stdout, f) {
			t.Errorf("--json lacks %s: %s", f, r.stdout)
		}
	}
	mustFail(t, s.run("usage", "--days", "0"), 2, "--days 0: want 1 to 366")
	mustFail(t, s.run("usage", "extra"), 2, `unexpected argument "extra"`)
}

// TestUsage_ServeProcessesExact runs several `codexgate serve` processes
// (each its own process, caches and counters, like Lambda containers) on one
// table and sends concurrent requests from three keys through three fronts:
// the stored per-key counters equal what the simulator reported, exactly.
func TestUsage_ServeProcessesExact(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	for _, name := range []string{"kim", "lee"} {
		file, _ := s.newLogin(openaisim.Account{Name: name})
		mustSucceed(t, s.run("import", "--account", name, "--auth-file", file))
	}
	long := strings.Repeat("lorem ipsum ", 200) // >= 256 input tokens: cached tokens in the usage
	clients := []struct{ key, path, body string }{
		{"alice", "/v1/responses", `{"model":"gpt-5.1-codex","instructions":"x","input":[{"role":"user","content":[{"type":"input_text","text":"` + long + `"}]}],"stream":true,"store":false,"reasoning":{"effort":"high","summary":"auto"}}`},
		{"bob", "/v1/chat/completions", `{"model":"gpt-5.1-codex","messages":[{"role":"user","content":"say hi"}],"stream":true}`},
		{"carol", "/v1/messages", `{"model":"claude-sonnet-4-5-20250929","max_tokens":1024,"stream":false,"messages":[{"role":"user","content":"Say hi"}]}`},
	}
	keys := map[string]string{}
	for _, c := range clients {
		keys[c.key] = s.createKey(c.key)
	}
	const procs, perKeyPerProc = 4, 5
	var servers []*server
	for range procs {
		servers = append(servers, s.startServe())
	}
	send := func(base, key, path, body string) error {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
		return nil
	}

	// One request per key first: its usage is what every request of that
	// key will cost (the simulator's usage is a function of the body).
	per := map[string]openaisim.Usage{}
	for _, c := range clients {
		if err := send(servers[0].base, keys[c.key], c.path, c.body); err != nil {
			t.Fatal(err)
		}
		per[c.key] = s.sim.Stats().LastUsage
	}
	if per["alice"].CachedTokens == 0 || per["alice"].ReasoningTokens == 0 {
		t.Fatalf("alice's turn has no cached or reasoning tokens (%+v): the test would prove less", per["alice"])
	}

	var wg sync.WaitGroup
	errs := make(chan error, procs*len(clients)*perKeyPerProc)
	for _, srv := range servers {
		for _, c := range clients {
			for range perKeyPerProc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- send(srv.base, keys[c.key], c.path, c.body)
				}()
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Stopping the servers lets every in-flight usage write finish.
	for _, srv := range servers {
		srv.stop(t)
	}

	st := s.sim.Stats()
	byKey := map[string]statestore.UsageRow{}
	var all statestore.UsageRow
	for _, r := range usageJSON(t, s, "--days", "2") { // today, or yesterday for a run across midnight
		k := byKey[r.Key]
		for _, p := range []*statestore.UsageRow{&k, &all} {
			p.Requests += r.Requests
			p.InputTokens += r.InputTokens
			p.CachedTokens += r.CachedTokens
			p.OutputTokens += r.OutputTokens
			p.ReasoningTokens += r.ReasoningTokens
		}
		byKey[r.Key] = k
	}
	n := int64(1 + procs*perKeyPerProc)
	for _, c := range clients {
		u := per[c.key]
		want := statestore.UsageRow{Requests: n, InputTokens: n * int64(u.InputTokens), CachedTokens: n * int64(u.CachedTokens),
			OutputTokens: n * int64(u.OutputTokens), ReasoningTokens: n * int64(u.ReasoningTokens)}
		if got := byKey[c.key]; got != want {
			t.Errorf("%s: stored %+v, want %+v", c.key, got, want)
		}
	}
	want := statestore.UsageRow{Requests: int64(st.ResponsesComplete), InputTokens: int64(st.InputTokens), CachedTokens: int64(st.CachedTokens),
		OutputTokens: int64(st.OutputTokens), ReasoningTokens: int64(st.ReasoningTokens)}
	if all != want {
		t.Errorf("all keys: stored %+v, simulator totals %+v", all, want)
	}
}

func TestKeys_BudgetRefusesAfterTheDailyTokens(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	file, _ := s.newLogin(openaisim.Account{Name: "kim"})
	mustSucceed(t, s.run("import", "--account", "kim", "--auth-file", file))
	r := s.run("keys", "create", "--name", "intern", "--daily-tokens", "1")
	mustSucceed(t, r)
	intern := strings.TrimSpace(r.stdout)
	boss := s.createKey("boss")
	mustFail(t, s.run("keys", "budget", "--name", "intern"), 2, "want --daily-tokens or --weekly-tokens")
	mustFail(t, s.run("keys", "budget", "--name", "nobody", "--daily-tokens", "5"), 1, `no active key named "nobody"`)
	mustFail(t, s.run("keys", "create", "--name", "x", "--daily-tokens", "-3"), 2, "--daily-tokens -3")
	mustFail(t, s.run("keys", "create", "--name", "x", "--weekly-tokens", "-1"), 2, "--weekly-tokens -1")
	mustFail(t, s.run("keys", "budget", "--name", "intern", "--daily-tokens", "5", "--weekly-tokens", "-7"), 2, "--weekly-tokens -7")
	r = s.run("keys", "list")
	mustSucceed(t, r)
	if !regexp.MustCompile(`(?m)^NAME\s.*DAILY BUDGET\s+WEEKLY BUDGET\s+MODELS\s+ACCOUNTS\s+MAX CONCURRENT$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^intern\s.*active\s+1 tokens\s+-\s+-\s+-\s+-$`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^boss\s.*active\s+-\s+-\s+-\s+-\s+-$`).MatchString(r.stdout) {
		t.Errorf("keys list:\n%s", r.stdout)
	}
	// A weekly budget beside the daily one; each flag changes only its own.
	r = s.run("keys", "budget", "--name", "boss", "--weekly-tokens", "900000")
	mustSucceed(t, r)
	if strings.TrimSpace(r.stdout) != "key boss: weekly budget 900000 tokens" {
		t.Errorf("keys budget --weekly-tokens: %q", r.stdout)
	}
	r = s.run("keys", "list")
	if !regexp.MustCompile(`(?m)^boss\s.*active\s+-\s+900000 tokens\s+-\s+-\s+-$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^intern\s.*active\s+1 tokens\s+-\s+-\s+-\s+-$`).MatchString(r.stdout) {
		t.Errorf("keys list after a weekly budget:\n%s", r.stdout)
	}
	mustSucceed(t, s.run("keys", "budget", "--name", "boss", "--weekly-tokens", "0"))
	r = s.run("keys", "create", "--name", "weekly", "--weekly-tokens", "123")
	mustSucceed(t, r)
	r = s.run("keys", "list", "--json")
	if !strings.Contains(r.stdout, `"name": "weekly"`) || !strings.Contains(r.stdout, `"weekly_tokens": 123`) {
		t.Errorf("keys list --json lacks the weekly budget:\n%s", r.stdout)
	}
	mustSucceed(t, s.run("keys", "revoke", "--name", "weekly"))

	srv := s.startServe()
	status := func(key, path, body string) (int, string) {
		resp, b := postRead(t, srv.base+path, key, body)
		return resp.StatusCode, string(b)
	}
	if code, body := status(intern, "/v1/responses", responsesBody); code != http.StatusOK {
		t.Fatalf("first request: %d %s", code, body)
	}
	// The first request spent the budget; the container knows once its
	// first background read of the counters is in (at once, locally).
	deadline := time.Now().Add(30 * time.Second)
	var code int
	var body string
	for {
		if code, body = status(intern, "/v1/responses", responsesBody); code != http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != http.StatusTooManyRequests || !strings.Contains(body, `"type":"insufficient_quota"`) || !strings.Contains(body, `"resets_at"`) {
		t.Fatalf("over budget: %d %s", code, body)
	}
	code, body = status(intern, "/v1/messages", `{"model":"claude-sonnet-4-5-20250929","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`)
	if code != http.StatusTooManyRequests || !strings.Contains(body, `"type":"rate_limit_error"`) {
		t.Errorf("messages over budget: %d %s", code, body)
	}
	if code, body := status(boss, "/v1/responses", responsesBody); code != http.StatusOK {
		t.Errorf("a key without a budget: %d %s", code, body)
	}
	srv.stop(t)
	mustSucceed(t, s.run("keys", "budget", "--name", "intern", "--daily-tokens", "0"))
	var rows []keyRow
	r = s.run("keys", "list", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("keys list --json: %v %s", err, r.stdout)
	}
	for _, k := range rows {
		if k.Revoked {
			continue
		}
		if k.DailyTokens != 0 || k.WeeklyTokens != 0 {
			t.Errorf("%s still has a budget: %+v", k.Name, k)
		}
	}
}

// TestKeys_BudgetStormAcrossProcesses hits one key's budget from several
// `codexgate serve` processes at once (containers that see each other's use
// only at their next 10 s reload) and checks the worst-case bound the
// README documents: each container stops the key once its own local count
// plus what it last read reaches the budget, so the overshoot is at most
// (containers - 1) x budget + the requests in flight in every container.
func TestKeys_BudgetStormAcrossProcesses(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	file, _ := s.newLogin(openaisim.Account{Name: "kim"})
	mustSucceed(t, s.run("import", "--account", "kim", "--auth-file", file))
	key := s.createKey("storm")
	const procs, clients = 4, 3
	var servers []*server
	for range procs {
		servers = append(servers, s.startServe())
	}
	// One turn first, without a budget: every turn of this body costs the same.
	resp := post(t, servers[0].base+"/v1/responses", key, responsesBody)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	u := s.sim.Stats().LastUsage
	turn := int64(u.InputTokens + u.OutputTokens)
	budget := 10 * turn
	mustSucceed(t, s.run("keys", "budget", "--name", "storm", "--daily-tokens", fmt.Sprint(budget)))
	// The servers learn the budget with the key at their next key check
	// (key cache TTL, 30 s): new processes see it at once.
	for i := range servers {
		servers[i].stop(t)
		servers[i] = s.startServe()
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	served, refused := 0, 0
	for _, srv := range servers {
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 200 {
					resp, b := postRead(t, srv.base+"/v1/responses", key, responsesBody)
					mu.Lock()
					switch resp.StatusCode {
					case http.StatusOK:
						served++
						mu.Unlock()
						continue
					case http.StatusTooManyRequests:
						refused++
						if !strings.Contains(string(b), `"type":"insufficient_quota"`) {
							t.Errorf("refusal: %s", b)
						}
					default:
						t.Errorf("%d %s", resp.StatusCode, b)
					}
					mu.Unlock()
					return
				}
			}()
		}
	}
	wg.Wait()
	for _, srv := range servers {
		srv.stop(t)
	}
	var used int64
	for _, r := range usageJSON(t, s, "--key", "storm", "--days", "2") {
		used += r.InputTokens + r.OutputTokens
	}
	overshoot := used - budget
	bound := (procs-1)*budget + procs*clients*turn
	t.Logf("%d processes x %d clients: turn %d tokens, budget %d, used %d (incl. the calibration turn), overshoot %d, bound %d; %d served, %d refused",
		procs, clients, turn, budget, used, overshoot, bound, served, refused)
	if refused != procs*clients || used < budget || overshoot > bound {
		t.Errorf("refused %d of %d clients, used %d of %d (overshoot %d > bound %d?)", refused, procs*clients, used, budget, overshoot, bound)
	}
}

// TestUsage_ServeFlushesEveryInterval: a running `codexgate serve` writes
// the usage it summed every CODEXGATE_USAGE_FLUSH, without being stopped;
// a value that is no duration is a one-line error naming the variable.
func TestUsage_ServeFlushesEveryInterval(t *testing.T) {
	s := newStack(t, openaisim.Options{})
	file, _ := s.newLogin(openaisim.Account{Name: "kim"})
	mustSucceed(t, s.run("import", "--account", "kim", "--auth-file", file))
	key := s.createKey("alice")
	bad := append(slices.Clone(s.env), "CODEXGATE_USAGE_FLUSH=soon")
	r := runCLI(t, bad, "", "serve", "--addr", "127.0.0.1:0")
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); r.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], `CODEXGATE_USAGE_FLUSH="soon"`) {
		t.Errorf("serve with CODEXGATE_USAGE_FLUSH=soon: %s", r)
	}

	s.env = append(s.env, "CODEXGATE_USAGE_FLUSH=200ms")
	srv := s.startServe()
	requests := func() int64 {
		var n int64
		for _, row := range usageJSON(t, s, "--days", "2") {
			n += row.Requests
		}
		return n
	}
	sent := int64(0)
	for _, batch := range []int{5, 3} {
		for range batch {
			resp := post(t, srv.base+"/v1/responses", key, responsesBody)
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d", resp.StatusCode)
			}
			sent++
		}
		deadline := time.Now().Add(30 * time.Second)
		for requests() != sent {
			if time.Now().After(deadline) {
				t.Fatalf("serve still running: %d requests stored after 30 s, want %d", requests(), sent)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	srv.stop(t)
	if n := requests(); n != sent {
		t.Errorf("after the stop: %d requests stored, want %d", n, sent)
	}
}
