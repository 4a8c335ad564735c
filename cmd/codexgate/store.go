package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/codex"
)

// storeLogin is what import and login share: check that the login does not
// collide with another account, write it as the account's new current
// secret version, register the account in the table's account registry
// (what the proxy and the scheduled functions list), and clear a
// reauth_required mark. It returns the new secret version id.
//
// Collisions refused unless replace is set:
//   - the same ChatGPT account stored under another name: two secrets of one
//     ChatGPT account holding the same login would spend one refresh token
//     twice, and OpenAI then revokes the login;
//   - the name already holding a different ChatGPT account.
//
// The very same login (refresh token) under another name is refused even
// with replace: the first refresh through one name would leave the other
// holding a spent refresh token, and its next refresh would be a reuse.
//
// Storing the same ChatGPT account again under its own name (a re-login
// after reauth_required) needs no flag.
func storeLogin(ctx context.Context, a *app.App, stderr io.Writer, name string, auth *codex.AuthFile, replace bool) (string, error) {
	if err := checkOtherAccounts(ctx, a, stderr, name, auth, replace); err != nil {
		return "", err
	}
	// The write takes the account's lease, like a refresh: a refresh in
	// flight finishes first, and the checks against what the account holds
	// run on what is current under the lease.
	wctx, cancel := context.WithTimeout(ctx, leaseWait)
	defer cancel()
	version, err := a.Refresher.Replace(wctx, name, auth, codex.ReplaceOptions{
		Check: func(cur *codex.Version) error { return checkSameAccount(name, cur, auth, replace) },
		Waiting: func() {
			fmt.Fprintf(stderr, "account %q is being refreshed right now; waiting for it to finish (up to %s)\n", name, leaseWait)
		},
	})
	if errors.Is(err, context.DeadlineExceeded) {
		return "", fmt.Errorf("store account %q: a refresh of this account held its lease for over %s; try again in a minute (`codexgate accounts` shows its state)", name, leaseWait)
	}
	if err != nil {
		return "", err
	}
	if err := a.States.Register(ctx, name); err != nil {
		return "", fmt.Errorf("account %q stored (version %s), but registering it failed (run this again): %w", name, version, err)
	}
	if err := a.States.ClearReauth(ctx, name); err != nil {
		return "", fmt.Errorf("account %q stored (version %s), but clearing its reauth_required state failed: %w", name, version, err)
	}
	return version, nil
}

// leaseWait bounds how long import and login wait for a refresh in flight.
const leaseWait = 90 * time.Second

// checkOtherAccounts refuses a login that collides with another account.
func checkOtherAccounts(ctx context.Context, a *app.App, stderr io.Writer, name string, auth *codex.AuthFile, replace bool) error {
	id := auth.Token.AccountID
	names, err := a.Secrets.List(ctx)
	if err != nil {
		return fmt.Errorf("list accounts: %w", err)
	}
	for _, other := range names {
		if other == name {
			continue
		}
		v, err := a.Secrets.LoadCurrent(ctx, other)
		if err != nil {
			if errors.Is(err, codex.ErrAccountNotFound) {
				continue
			}
			if errors.Is(err, codex.ErrInvalidAuthFile) {
				fmt.Fprintf(stderr, "warning: account %q is unreadable, not checked for duplicates: %s\n", other, oneLine(err.Error()))
				continue
			}
			return fmt.Errorf("read account %q: %w", other, err)
		}
		stored := v.Auth.Token
		switch {
		case stored.Refresh == auth.Token.Refresh:
			return fmt.Errorf("this login is already stored as account %q; storing one login twice would spend its refresh token twice (use `codexgate login` for a second, independent login)", other)
		case !replace && id != "" && stored.AccountID == id:
			return fmt.Errorf("ChatGPT account %s is already stored as account %q; pass --replace to store it as %q too", maskID(id), other, name)
		}
	}
	return nil
}

// checkSameAccount judges a login against what account name holds now
// (cur, read under the account's lease; nil when it holds nothing).
func checkSameAccount(name string, cur *codex.Version, auth *codex.AuthFile, replace bool) error {
	if cur == nil || replace {
		return nil
	}
	stored, id := cur.Auth.Token, auth.Token.AccountID
	switch {
	case stored.AccountID == id && stored.Refresh != auth.Token.Refresh && cur.Auth.LastRefresh.After(auth.LastRefresh):
		// Typically ~/.codex/auth.json imported again after codexgate
		// rotated its token: the file's refresh token is already spent.
		return fmt.Errorf("account %q holds a newer token of this login (refreshed %s, the file %s); importing the file would put back a refresh token that may be spent; pass --replace to store it anyway",
			name, cur.Auth.LastRefresh.UTC().Format(time.RFC3339), orDash(formatTime(auth.LastRefresh)))
	case id != "" && stored.AccountID != "" && stored.AccountID != id:
		return fmt.Errorf("account %q already holds ChatGPT account %s, not %s; pass --replace to overwrite it", name, maskID(stored.AccountID), maskID(id))
	}
	return nil
}

// describeLogin is the one-line summary of a stored login; it never
// includes a token.
func describeLogin(auth *codex.AuthFile) string {
	c := auth.Claims()
	return fmt.Sprintf("ChatGPT account %s, %s, plan %s", maskID(c.AccountID), orDash(c.Email), orDash(c.PlanType))
}

// formatTime is t in RFC 3339, or "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
