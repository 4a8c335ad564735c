package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// RefreshCommand renews an account's access token through the one shared
// refresh routine (lease, durable write, compare-and-swap promote).
type RefreshCommand struct{ m *Main }

// Run executes `codexgate refresh`.
func (c *RefreshCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "refresh", "codexgate refresh --account NAME [--force]",
		"Makes sure account NAME has a usable access token, refreshing it through the same routine the\n"+
			"proxy and the refresh function use (per-account lease, durable write before use). Without\n"+
			"--force a token that is still valid is left alone. The token itself is never printed.")
	account := fs.String("account", "", "account name")
	force := fs.Bool("force", false, "refresh even if the current access token is still valid")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := fs.require(map[string]string{"account": *account}); err != nil {
		return err
	}
	if err := checkAccountName("refresh", *account); err != nil {
		return err
	}
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	before, err := a.Secrets.LoadCurrent(ctx, *account)
	if err != nil {
		return accountError(*account, err)
	}
	creds, err := a.Refresher.AccessToken(ctx, *account, codex.AccessOptions{Force: *force})
	if err != nil {
		return accountError(*account, err)
	}
	after, err := a.Secrets.LoadCurrent(ctx, *account)
	if err != nil {
		return accountError(*account, err)
	}
	outcome := "still valid, not refreshed"
	if after.ID != before.ID {
		outcome = "refreshed"
	}
	fmt.Fprintf(c.m.Stdout, "account %s: %s; access token valid until %s (ChatGPT account %s)\n",
		*account, outcome, creds.ExpiresAt.UTC().Format(time.RFC3339), maskID(creds.AccountID))
	return nil
}

// accountError turns the refresh routine's typed errors into what an
// operator should do next.
func accountError(account string, err error) error {
	var re *codex.ReauthError
	switch {
	case errors.Is(err, codex.ErrAccountNotFound):
		return fmt.Errorf("account %q not found (see `codexgate accounts`)", account)
	case errors.As(err, &re), errors.Is(err, codex.ErrRefreshRateLimited):
		return err // names the reason and what to do
	case errors.Is(err, codex.ErrReauthRequired):
		return fmt.Errorf("account %q needs a new login: run `codexgate login --account %s` or `codexgate import`: %w", account, account, err)
	case errors.Is(err, codex.ErrInvalidAuthFile):
		return fmt.Errorf("account %q: stored secret is unusable, import or log in again: %w", account, err)
	}
	return fmt.Errorf("account %q: %w", account, err)
}
