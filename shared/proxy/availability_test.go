package proxy

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
)

// rejecting answers 401 to the tokens in bad (or to every token of account
// "a" while all is set).
type rejecting struct {
	bad map[string]bool
	all bool
}

func (rj *rejecting) handle(w http.ResponseWriter, r *http.Request, rec upstreamRecord) {
	if rj.bad[rec.Token] || (rj.all && rec.Account == "a") {
		writeJSONStatus(w, 401, `{"error":{"code":"token_expired","message":"expired"}}`)
		return
	}
	serveCompleted(w, r, rec)
}

// A 401 on a token that was adopted (another holder refreshed it; this
// request never saw it minted) spends one real refresh and one more replay:
// the account serves, and no cooldown is set.
func TestProxy_Attempt_AdoptedThenRejected(t *testing.T) {
	h := newHarness(t, []string{"a", "b"})
	h.tokens.adopt["a"] = 1 // the first forced call adopts tok-a-1
	rj := &rejecting{bad: map[string]bool{"tok-a-0": true, "tok-a-1": true}}
	h.up.handle = rj.handle
	status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if status != 200 || !strings.Contains(body, `"account":"a"`) {
		t.Fatalf("status %d: %s; want served by a", status, body)
	}
	if got := h.up.accounts(); !slices.Equal(got, []string{"a", "a", "a"}) {
		t.Errorf("upstream accounts %v, want a three times (start, adopted, minted)", got)
	}
	if f := h.tokens.forced(); len(f) != 2 || f[1].Opts.Rejected != "tok-a-1" {
		t.Errorf("forced calls %+v; want two, the second rejecting the adopted token", f)
	}
	if _, _, cds := h.store.calls(); len(cds) != 0 {
		t.Errorf("cooldowns %+v, want none", cds)
	}
}

// An upstream that rejects every token of an account (an incident on its
// side) costs one refresh, not one per request: later 401s cool the account
// down for longer each time without refreshing, a probe takes one request at
// a time to it while nothing else can serve, and the first success ends it
// for every container.
func TestProxy_UnauthorizedBackoffAndProbe(t *testing.T) {
	h := newHarness(t, []string{"a"})
	rj := &rejecting{all: true}
	h.up.handle = rj.handle
	cooldowns := func() []time.Duration {
		_, _, cds := h.store.calls()
		var out []time.Duration
		for _, c := range cds {
			out = append(out, c.Until.Sub(h.clock.Now()).Round(time.Second))
		}
		return out
	}
	status, _ := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if status != 503 || len(h.tokens.forced()) != 1 {
		t.Fatalf("first request: status %d, %d forced refreshes; want 503 after one", status, len(h.tokens.forced()))
	}
	if got := cooldowns(); !slices.Equal(got, []time.Duration{30 * time.Second}) {
		t.Fatalf("cooldowns %v, want [30s]", got)
	}
	// While cooling down, the only account is probed: 401 again, and the
	// cooldown stays as it is (its length follows time, not requests).
	h.clock.Add(time.Second)
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if got := len(cooldowns()); got != 1 {
		t.Fatalf("a probe during the cooldown changed it: %d cooldowns", got)
	}
	// After each cooldown, a plain request: still on probation, no refresh,
	// and the next cooldown twice as long.
	h.clock.Add(30 * time.Second)
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	h.clock.Add(61 * time.Second)
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if n := len(h.tokens.forced()); n != 1 {
		t.Fatalf("%d forced refreshes during the incident, want 1", n)
	}
	_, _, cds := h.store.calls()
	if len(cds) != 3 || h.store.strikes != 3 || !cds[2].Until.Equal(h.clock.Now().Add(2*time.Minute)) {
		t.Fatalf("cooldowns %+v (strikes %d); want the third, 2 min, at strike 3", cds, h.store.strikes)
	}
	// The upstream recovers: the next request probes and is served at once.
	rj.all = false
	h.clock.Add(time.Second)
	status, body := read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if status != 200 {
		t.Fatalf("after recovery: status %d: %s", status, body)
	}
	if !slices.Equal(h.store.cleared, []string{"a"}) {
		t.Fatalf("ClearUnauthorized calls %v, want [a]", h.store.cleared)
	}
	// No more probation: the next 401 spends a refresh again.
	rj.all = true
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	if n := len(h.tokens.forced()); n != 2 {
		t.Fatalf("%d forced refreshes after recovery and one more 401, want 2", n)
	}
}

// busyTokens answers ErrHolderBusy for account a (another holder refreshes
// it) and records the waits it was given.
type busyTokens struct {
	*fakeTokens
	waits []time.Duration
}

func (b *busyTokens) AccessToken(ctx context.Context, account string, opts codex.AccessOptions) (codex.Credentials, error) {
	if account == "a" {
		b.mu.Lock()
		b.waits = append(b.waits, opts.Wait)
		b.mu.Unlock()
		return codex.Credentials{}, fmt.Errorf("account %q: %w", account, codex.ErrHolderBusy)
	}
	return b.fakeTokens.AccessToken(ctx, account, opts)
}

// A request waits on another holder's refresh only briefly when another
// account can serve it, and fails over; alone, it waits longer, then
// answers 503 with Retry-After.
func TestProxy_HolderBusy(t *testing.T) {
	for _, tc := range []struct {
		name       string
		accounts   []string
		wantStatus int
		wantWait   time.Duration
	}{
		{"another account serves", []string{"a", "b"}, 200, DefaultHolderWait},
		{"alone: 503 with Retry-After", []string{"a"}, 503, DefaultHolderWaitAlone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bt := &busyTokens{fakeTokens: newFakeTokens()}
			h := newHarness(t, tc.accounts, func(c *Config) { c.Tokens = bt })
			// Make a the first choice: b has used half its window.
			h.store.states = []AccountState{{Account: "b", Quota: quota.Snapshot{FetchedAt: h.clock.Now(), Windows: []quota.Window{{UsedPercent: 50}}}}}
			resp := h.do("POST", "/v1/responses", streamBody, nil)
			status, body := read(t, resp)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tc.wantStatus, body)
			}
			if !slices.Equal(bt.waits, []time.Duration{tc.wantWait}) {
				t.Errorf("waits given for a: %v, want [%s]", bt.waits, tc.wantWait)
			}
			if status == 503 {
				if e := openAIError(t, body); e.Code != "account_refreshing" || resp.Header.Get("Retry-After") != "5" {
					t.Errorf("error %+v, Retry-After %q; want account_refreshing, 5", e, resp.Header.Get("Retry-After"))
				}
			}
		})
	}
}

// A login stored since the last load reaches this container at the next
// load: the token source drops the old login's token.
func TestProxy_LoginReachesWarmContainer(t *testing.T) {
	h := newHarness(t, []string{"a"})
	h.store.states = []AccountState{{Account: "a", LoginVersion: "v1"}}
	read(t, h.do("POST", "/v1/responses", streamBody, nil))
	h.store.mu.Lock()
	h.store.states = []AccountState{{Account: "a", LoginVersion: "v2"}}
	h.store.mu.Unlock()
	h.clock.Add(DefaultAccountsRefresh + time.Second)
	read(t, h.do("POST", "/v1/responses", streamBody, nil)) // starts the reload
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.tokens.mu.Lock()
		forgot := slices.Clone(h.tokens.forgot)
		h.tokens.mu.Unlock()
		if len(forgot) > 0 {
			if !slices.Equal(forgot, []string{"a=v2"}) {
				t.Fatalf("Forget calls %v, want [a=v2]", forgot)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the new login never reached the token source")
}
