package usage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
)

func TestClient_Fetch_Headers(t *testing.T) {
	body, err := os.ReadFile("testdata/usage.json")
	if err != nil {
		t.Fatal(err)
	}
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		if r.Method != http.MethodGet {
			t.Errorf("method = %s", r.Method)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL, Now: func() time.Time { return fetched }}
	s, err := c.Fetch(context.Background(), codex.Credentials{Access: "at-1", AccountID: "acc-1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Plan != "plus" || len(s.Windows) != 2 || !s.FetchedAt.Equal(fetched) {
		t.Errorf("snapshot = %+v", s)
	}
	for k, want := range map[string]string{
		"Authorization": "Bearer at-1", "Chatgpt-Account-Id": "acc-1", "Originator": "codex_cli_rs", "User-Agent": userAgent,
	} {
		if got.Get(k) != want {
			t.Errorf("header %s = %q, want %q", k, got.Get(k), want)
		}
	}
}

func TestClient_Fetch_Errors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		unauth   bool
		wantCode string
		malform  bool
	}{
		{"401 nested", 401, `{"error":{"message":"Provided authentication token is expired.","type":"invalid_request_error","code":"token_expired"}}`, true, "token_expired", false},
		{"401 flat", 401, `{"error":"token_invalidated"}`, true, "token_invalidated", false},
		{"403 detail", 403, `{"detail":"Unusual activity"}`, false, "", false},
		{"502 html", 502, `<html>bad gateway</html>`, false, "", false},
		{"200 garbage", 200, `<html>ok</html>`, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := (&Client{URL: srv.URL}).Fetch(context.Background(), codex.Credentials{Access: "secret-token"})
			if errors.Is(err, ErrUnauthorized) != tt.unauth {
				t.Errorf("err = %v; Is(ErrUnauthorized) = %v, want %v", err, !tt.unauth, tt.unauth)
			}
			if tt.malform {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("err = %v, want ErrMalformed", err)
				}
				return
			}
			var se *StatusError
			if !errors.As(err, &se) || se.Status != tt.status || se.Code != tt.wantCode {
				t.Fatalf("err = %#v, want *StatusError{%d, %q}", err, tt.status, tt.wantCode)
			}
		})
	}
}

// tokenSource hands out "old" until a forced call rejects it, then "new".
type tokenSource struct {
	mu    sync.Mutex
	calls []codex.AccessOptions
	err   error
}

func (f *tokenSource) AccessToken(_ context.Context, _ string, o codex.AccessOptions) (codex.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, o)
	if o.Force && f.err != nil {
		return codex.Credentials{}, f.err
	}
	if o.Force {
		return codex.Credentials{Access: "new", AccountID: "acc"}, nil
	}
	return codex.Credentials{Access: "old", AccountID: "acc"}, nil
}

func TestClient_ForAccount_RefreshOnce(t *testing.T) {
	body, _ := os.ReadFile("testdata/usage.json")
	accept := "new"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+accept {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"error":{"code":"token_expired","message":"expired"}}`))
			return
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL}

	ts := &tokenSource{}
	s, refreshed, err := c.ForAccount(context.Background(), ts, "a")
	if err != nil || !refreshed || s.Plan != "plus" {
		t.Fatalf("ForAccount = %+v, %v, %v", s, refreshed, err)
	}
	if len(ts.calls) != 2 || ts.calls[0] != (codex.AccessOptions{}) || ts.calls[1] != (codex.AccessOptions{Force: true, Rejected: "old"}) {
		t.Errorf("token calls = %+v, want plain then forced with old rejected", ts.calls)
	}

	// A second 401 after the refresh is returned, not retried again.
	accept = "never"
	ts = &tokenSource{}
	if _, _, err := c.ForAccount(context.Background(), ts, "a"); !errors.Is(err, ErrUnauthorized) || len(ts.calls) != 2 {
		t.Errorf("err = %v after %d token calls, want ErrUnauthorized after 2", err, len(ts.calls))
	}

	// A failed refresh carries the refresh error.
	ts = &tokenSource{err: codex.ErrReauthRequired}
	if _, _, err := c.ForAccount(context.Background(), ts, "a"); !errors.Is(err, codex.ErrReauthRequired) {
		t.Errorf("err = %v, want ErrReauthRequired", err)
	}
}

func TestClient_Fetch_SimulatorSwapped(t *testing.T) {
	sim := openaisim.New(openaisim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	tok := sim.AddAccount(openaisim.Account{ID: "acc-sim", Plan: "pro"})
	if err := sim.SetUsage("acc-sim", 30, 70); err != nil {
		t.Fatal(err)
	}
	c := &Client{URL: srv.URL + "/backend-api/wham/usage"}
	creds := codex.Credentials{Access: tok.AccessToken, AccountID: tok.AccountID}
	for _, swap := range []bool{false, true} {
		sim.SwapUsageWindows(swap)
		s, err := c.Fetch(context.Background(), creds)
		if err != nil {
			t.Fatal(err)
		}
		byKind := map[string]float64{}
		for _, w := range s.Windows {
			byKind[w.Kind] = w.UsedPercent
		}
		if s.Plan != "pro" || len(byKind) != 2 || byKind[quota.Kind5h] != 30 || byKind[quota.KindWeekly] != 70 {
			t.Errorf("swap=%v: snapshot = %+v", swap, s)
		}
	}
	if err := sim.ExpireAccessTokens("acc-sim"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(context.Background(), creds); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("expired token: err = %v, want ErrUnauthorized", err)
	}
}
