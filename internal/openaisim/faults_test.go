package openaisim

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawDo performs a request and returns the transport or body-read error.
func rawDo(req *http.Request) (status int, body string, err error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestSim_Fault_StatusCountThenNormal(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	f.sim.InjectFault(Fault{Path: "/oauth/token", Status: 503, Count: 2})
	for i := range 2 {
		if r := f.refresh(t, tok.RefreshToken, false); r.status != 503 {
			t.Fatalf("request %d: %d %s", i, r.status, r.raw)
		}
	}
	// A plain status fault touches no state: the token was never spent.
	tokensFrom(t, f.refresh(t, tok.RefreshToken, false), tok.AccountID)
	if st := f.sim.Stats(); st.FaultsApplied != 2 || st.Refreshes != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestSim_Fault_AfterRefresh(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault Fault
	}{
		{"dropped connection", Fault{Path: "/oauth/token", AfterRefresh: true, DropConnection: true, Count: 1}},
		{"5xx answer", Fault{Path: "/oauth/token", AfterRefresh: true, Status: 500, Count: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			tok := f.sim.AddAccount(Account{})
			f.sim.InjectFault(tc.fault)
			req := newReq(t, "POST", f.srv.URL+"/oauth/token", "application/json", mustJSON(t, map[string]string{
				"client_id": ClientID, "grant_type": "refresh_token", "refresh_token": tok.RefreshToken,
			}))
			status, body, err := rawDo(req)
			if err == nil && status == 200 {
				t.Fatalf("client saw the tokens: %s", body)
			}
			if strings.Contains(body, "refresh_token\"") {
				t.Fatalf("fault leaked the token answer: %s", body)
			}
			// The server did rotate: the client's token is now spent.
			if r := f.refresh(t, tok.RefreshToken, false); r.status != 401 || r.errCode() != "refresh_token_reused" {
				t.Fatalf("retry with the old token: %d %s", r.status, r.raw)
			}
			if st := f.sim.Stats(); st.Refreshes != 1 || st.ReuseRejections != 1 {
				t.Fatalf("stats: %+v", st)
			}
		})
	}
}

func TestSim_Fault_DropConnection(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	f.sim.InjectFault(Fault{Path: "/backend-api/", DropConnection: true})
	if _, _, err := rawDo(f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody())); err == nil {
		t.Fatal("request through a dropped connection succeeded")
	}
	f.sim.ClearFaults()
	if r := f.responses(t, tok); r.status != 200 {
		t.Fatalf("after ClearFaults: %d", r.status)
	}
}

func TestSim_Fault_StreamCut(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	f.sim.InjectFault(Fault{Path: "/backend-api/codex/responses", StreamCutAfterEvents: 3, Count: 1})
	status, body, err := rawDo(f.backendReq(t, "POST", "/backend-api/codex/responses", tok, validBody()))
	if status != 200 || err == nil {
		t.Fatalf("cut stream: status %d err %v", status, err)
	}
	if n := strings.Count(body, "event: "); n != 3 || strings.Contains(body, "response.completed") {
		t.Fatalf("cut stream delivered %d events: %q", n, body)
	}
	if st := f.sim.Stats(); st.ResponsesOK != 1 || st.ResponsesComplete != 0 {
		t.Fatalf("stats: %+v", st)
	}
	if r := f.responses(t, tok); r.status != 200 || !strings.Contains(r.raw, "response.completed") {
		t.Fatalf("next stream: %d", r.status)
	}
}

func TestSim_Fault_DelayActsAfterClientTimeout(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	f.sim.InjectFault(Fault{Path: "/oauth/token", Delay: 300 * time.Millisecond, Count: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req := newReq(t, "POST", f.srv.URL+"/oauth/token", "application/json", mustJSON(t, map[string]string{
		"client_id": ClientID, "grant_type": "refresh_token", "refresh_token": tok.RefreshToken,
	})).WithContext(ctx)
	if _, _, err := rawDo(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a client timeout, got %v", err)
	}
	// The client gave up during the delay, yet the server rotated afterwards:
	// a retry with the same token is a reuse.
	deadline := time.Now().Add(5 * time.Second)
	for f.sim.Stats().Refreshes == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r := f.refresh(t, tok.RefreshToken, false); r.errCode() != "refresh_token_reused" {
		t.Fatalf("retry after timeout: %d %s", r.status, r.raw)
	}
}

// An upstream incident (issue 25): the backend answers 401 to valid tokens
// for a while, on one account or all, then serves them again by itself.
func TestSim_Fault_UnauthorizedWindow(t *testing.T) {
	for _, tc := range []struct {
		name         string
		account      func(a, b Tokens) string // the fault's Account
		wantA, wantB int
	}{
		{name: "every account", account: func(Tokens, Tokens) string { return "" }, wantA: 401, wantB: 401},
		{name: "one account", account: func(a, _ Tokens) string { return a.AccountID }, wantA: 401, wantB: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			a, b := f.sim.AddAccount(Account{ID: "acct-a"}), f.sim.AddAccount(Account{ID: "acct-b"})
			f.sim.InjectFault(Fault{Path: "/backend-api/codex", Status: 401, Body: UnauthorizedBody(),
				Account: tc.account(a, b), Until: time.Now().Add(300 * time.Millisecond)})
			ra, rb := f.responses(t, a), f.responses(t, b)
			if ra.status != tc.wantA || rb.status != tc.wantB {
				t.Fatalf("during the window: a %d, b %d; want %d, %d", ra.status, rb.status, tc.wantA, tc.wantB)
			}
			if ra.errCode() != "token_expired" {
				t.Errorf("401 body code %q, want token_expired: %s", ra.errCode(), ra.raw)
			}
			time.Sleep(400 * time.Millisecond)
			if ra, rb := f.responses(t, a), f.responses(t, b); ra.status != 200 || rb.status != 200 {
				t.Fatalf("after the window: a %d, b %d", ra.status, rb.status)
			}
			// The window touched no token: no refresh was needed or made.
			if st := f.sim.Stats(); st.Refreshes != 0 || st.Unauthorized != 0 {
				t.Errorf("stats: %+v", st)
			}
		})
	}
}

// UnauthorizedBody is byte for byte what the backend answers an expired token.
func TestUnauthorizedBody_MatchesExpiredToken(t *testing.T) {
	f := newFixture(t, Options{})
	tok := f.sim.AddAccount(Account{})
	if err := f.sim.ExpireAccessTokens(tok.AccountID); err != nil {
		t.Fatal(err)
	}
	r := f.responses(t, tok)
	if r.status != 401 || strings.TrimSpace(r.raw) != UnauthorizedBody() {
		t.Fatalf("expired token: %d %q, want 401 %q", r.status, r.raw, UnauthorizedBody())
	}
}
