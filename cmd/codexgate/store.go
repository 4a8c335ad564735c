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
// secret version, and clear a reauth_required mark. It returns the new
// secret version id.
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
	if err := checkCollision(ctx, a, stderr, name, auth, replace); err != nil {
		return "", err
	}
	version, err := a.Secrets.Put(ctx, name, auth)
	if err != nil {
		return "", fmt.Errorf("store account %q: %w", name, err)
	}
	if err := a.States.ClearReauth(ctx, name); err != nil {
		return "", fmt.Errorf("account %q stored (version %s), but clearing its reauth_required state failed: %w", name, version, err)
	}
	return version, nil
}

func checkCollision(ctx context.Context, a *app.App, stderr io.Writer, name string, auth *codex.AuthFile, replace bool) error {
	id := auth.Token.AccountID
	names, err := a.Secrets.List(ctx)
	if err != nil {
		return fmt.Errorf("list accounts: %w", err)
	}
	for _, other := range names {
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
		case other != name && stored.Refresh == auth.Token.Refresh:
			return fmt.Errorf("this login is already stored as account %q; storing one login twice would spend its refresh token twice (use `codexgate login` for a second, independent login)", other)
		case replace:
			continue
		case other == name && stored.AccountID == id && stored.Refresh != auth.Token.Refresh && v.Auth.LastRefresh.After(auth.LastRefresh):
			// Typically ~/.codex/auth.json imported again after codexgate
			// rotated its token: the file's refresh token is already spent.
			return fmt.Errorf("account %q holds a newer token of this login (refreshed %s, the file %s); importing the file would put back a refresh token that may be spent; pass --replace to store it anyway",
				name, v.Auth.LastRefresh.UTC().Format(time.RFC3339), orDash(formatTime(auth.LastRefresh)))
		case other == name && id != "" && stored.AccountID != "" && stored.AccountID != id:
			return fmt.Errorf("account %q already holds ChatGPT account %s, not %s; pass --replace to overwrite it", name, maskID(stored.AccountID), maskID(id))
		case other != name && id != "" && stored.AccountID == id:
			return fmt.Errorf("ChatGPT account %s is already stored as account %q; pass --replace to store it as %q too", maskID(id), other, name)
		}
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
