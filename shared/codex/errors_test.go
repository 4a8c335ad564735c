package codex

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func TestOAuthError_TerminalTransient(t *testing.T) {
	type want struct{ terminal, transient bool }
	var (
		terminal  = want{terminal: true}
		transient = want{transient: true}
		neither   = want{}
	)
	tests := []struct {
		name string
		err  OAuthError
		want want
	}{
		{"401NoCode", OAuthError{Status: 401}, terminal},
		{"401TokenExpired", OAuthError{Status: 401, Code: "token_expired"}, terminal},
		{"401UnknownCode", OAuthError{Status: 401, Code: "something_new"}, terminal},
		{"401RefreshTokenReused", OAuthError{Status: 401, Code: "refresh_token_reused"}, terminal},
		{"400RefreshTokenReused", OAuthError{Status: 400, Code: "refresh_token_reused"}, terminal},
		{"400RefreshTokenExpired", OAuthError{Status: 400, Code: "refresh_token_expired"}, terminal},
		{"400RefreshTokenInvalidated", OAuthError{Status: 400, Code: "refresh_token_invalidated"}, terminal},
		{"400TokenExpired", OAuthError{Status: 400, Code: "token_expired"}, terminal},
		{"400InvalidGrant", OAuthError{Status: 400, Code: "invalid_grant"}, terminal},
		{"400InvalidRefreshToken", OAuthError{Status: 400, Code: "invalid_refresh_token"}, terminal},
		{"400AppSessionTerminated", OAuthError{Status: 400, Code: "app_session_terminated"}, terminal},
		{"400UnknownCode", OAuthError{Status: 400, Code: "invalid_request"}, neither},
		{"400NoCode", OAuthError{Status: 400}, neither},
		{"403GeoBlocked", OAuthError{Status: 403, Code: "unsupported_country_region_territory"}, terminal},
		{"403Other", OAuthError{Status: 403, Code: "forbidden"}, neither},
		{"403NoCode", OAuthError{Status: 403}, neither},
		{"404", OAuthError{Status: 404}, neither},
		{"408", OAuthError{Status: 408}, transient},
		{"429", OAuthError{Status: 429, Code: "rate_limit_exceeded"}, transient},
		{"500", OAuthError{Status: 500}, transient},
		{"502", OAuthError{Status: 502}, transient},
		{"503", OAuthError{Status: 503, Code: "server_error"}, transient},
		{"504", OAuthError{Status: 504}, transient},
		{"Network", OAuthError{Err: io.ErrUnexpectedEOF}, transient},
		// A terminal code beats a transient status: the token is dead either way.
		{"500InvalidGrant", OAuthError{Status: 500, Code: "invalid_grant"}, terminal},
		{"200InvalidResponse", OAuthError{Status: 200, Code: "invalid_response"}, neither},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := want{tt.err.Terminal(), tt.err.Transient()}
			if got != tt.want {
				t.Errorf("%+v: Terminal, Transient = %v, %v; want %v, %v", tt.err, got.terminal, got.transient, tt.want.terminal, tt.want.transient)
			}
		})
	}
}

func TestOAuthError_Error(t *testing.T) {
	tests := []struct {
		name string
		err  *OAuthError
		want []string
	}{
		{"Network", &OAuthError{Err: io.ErrUnexpectedEOF}, []string{"unreachable", "unexpected EOF"}},
		{"WithCode", &OAuthError{Status: 400, Code: "refresh_token_reused", Message: "Your refresh token has already been used"}, []string{"400", "refresh_token_reused", "already been used"}},
		{"GeoBlocked", &OAuthError{Status: 403, Code: "unsupported_country_region_territory", Message: "Country, region, or territory not supported"}, []string{"403", "unsupported_country_region_territory", "Country, region, or territory not supported"}},
		{"NoCode", &OAuthError{Status: 502, Message: "Bad Gateway"}, []string{"502", "Bad Gateway"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Error() = %q, missing %q", msg, w)
				}
			}
		})
	}
}

func TestOAuthError_Unwrap(t *testing.T) {
	err := fmt.Errorf("refresh: %w", &OAuthError{Err: io.ErrUnexpectedEOF})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("errors.Is(%v, io.ErrUnexpectedEOF) = false", err)
	}
	var oe *OAuthError
	if !errors.As(err, &oe) || !oe.Transient() {
		t.Errorf("errors.As found %+v, want a transient *OAuthError", oe)
	}
}

func TestSentinels_Is(t *testing.T) {
	reauth := &ReauthError{Account: "work-1", Reason: "refresh_token_reused", Since: time.Now()}
	held := &LeaseHeldError{Owner: "lambda-abc", ExpiresAt: time.Now().Add(time.Minute)}
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"ReauthError", &ReauthError{}, ErrReauthRequired, true},
		{"ReauthErrorWrapped", fmt.Errorf("access token: %w", reauth), ErrReauthRequired, true},
		{"ReauthErrorNotLeaseHeld", reauth, ErrLeaseHeld, false},
		{"LeaseHeldError", &LeaseHeldError{}, ErrLeaseHeld, true},
		{"LeaseHeldErrorWrapped", fmt.Errorf("acquire lease: %w", held), ErrLeaseHeld, true},
		{"LeaseHeldErrorNotReauth", held, ErrReauthRequired, false},
		{"LeaseHeldErrorNotLeaseLost", held, ErrLeaseLost, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}

	var re *ReauthError
	if !errors.As(fmt.Errorf("x: %w", reauth), &re) || re.Reason != "refresh_token_reused" {
		t.Errorf("errors.As(*ReauthError) = %+v", re)
	}
	if msg := reauth.Error(); !strings.Contains(msg, "work-1") || !strings.Contains(msg, "refresh_token_reused") {
		t.Errorf("ReauthError.Error() = %q, want account and reason", msg)
	}
	if msg := held.Error(); !strings.Contains(msg, "lambda-abc") {
		t.Errorf("LeaseHeldError.Error() = %q, want the owner", msg)
	}
}
