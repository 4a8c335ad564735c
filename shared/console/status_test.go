package console

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/statestore"
)

func TestAccountStatus(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	unreadable := fmt.Errorf("read: %w", codex.ErrInvalidAuthFile)
	for _, c := range []struct {
		name     string
		st       statestore.AccountState
		has      bool
		set      statestore.AccountSettings
		loginErr error
		want     string
		reason   string
		until    bool
	}{
		{"no state", statestore.AccountState{}, false, statestore.AccountSettings{}, nil, StatusOK, "", false},
		{"ok", statestore.AccountState{Status: statestore.StatusOK}, true, statestore.AccountSettings{}, nil, StatusOK, "", false},
		{"cooldown", statestore.AccountState{CooldownUntil: later, CooldownReason: "usage_limit_reached"}, true, statestore.AccountSettings{}, nil, StatusCoolingDown, "usage_limit_reached", true},
		{"cooldown over", statestore.AccountState{CooldownUntil: now.Add(-time.Second)}, true, statestore.AccountSettings{}, nil, StatusOK, "", false},
		{"reauth outranks all", statestore.AccountState{Status: statestore.StatusReauthRequired, Reason: "refresh_token_reused", CooldownUntil: later}, true, statestore.AccountSettings{}, unreadable, StatusReauthRequired, "refresh_token_reused", false},
		{"paused", statestore.AccountState{}, false, statestore.AccountSettings{Paused: true}, nil, StatusPaused, "", false},
		{"paused outranks cooldown", statestore.AccountState{CooldownUntil: later}, true, statestore.AccountSettings{Paused: true}, nil, StatusPaused, "", false},
		{"reauth outranks paused", statestore.AccountState{Status: statestore.StatusReauthRequired, Reason: "refresh_token_reused"}, true, statestore.AccountSettings{Paused: true}, nil, StatusReauthRequired, "refresh_token_reused", false},
		{"unreadable outranks cooldown", statestore.AccountState{CooldownUntil: later}, true, statestore.AccountSettings{}, unreadable, StatusUnreadable, unreadable.Error(), false},
	} {
		status, reason, until := accountStatus(c.st, c.has, c.set, c.loginErr, now)
		if status != c.want || reason != c.reason || (until != nil) != c.until {
			t.Errorf("%s: got %s %q %v, want %s %q until %v", c.name, status, reason, until, c.want, c.reason, c.until)
		}
	}
	if !errors.Is(unreadable, codex.ErrInvalidAuthFile) {
		t.Fatal("wrapping")
	}
}

func TestISOWeekStart(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-07T08:00:00Z": "2026-12-07", // a Monday
		"2026-12-13T23:59:59Z": "2026-12-07", // its Sunday
		"2026-12-06T12:00:00Z": "2026-11-30",
	} {
		tm, _ := time.Parse(time.RFC3339, in)
		if got := isoWeekStart(tm).Format(time.DateOnly); got != want {
			t.Errorf("isoWeekStart(%s) = %s, want %s", in, got, want)
		}
	}
}
