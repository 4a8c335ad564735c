package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/codexgate/codexgate/shared/statestore"
)

// Account settings commands: `accounts pause|resume NAME` and `accounts
// priority NAME N`. They write the account's registry item only (one
// conditional UpdateItem); proxies apply them at their next account-list
// reload, within their 60 s AccountsRefresh.
const (
	pauseUsage    = "codexgate accounts pause NAME"
	resumeUsage   = "codexgate accounts resume NAME"
	priorityUsage = "codexgate accounts priority NAME N"

	// maxPriority bounds |N|: room enough for any ordering, and a typo
	// (a port, a year) is refused.
	maxPriority = 1000
)

// pause runs `accounts pause NAME` (paused) and `accounts resume NAME`.
func (c *AccountsCommand) pause(ctx context.Context, args []string, paused bool) error {
	fs := newFlagSet(c.m, "accounts resume", resumeUsage,
		"Puts a paused account back into rotation: proxies route to it again within 60 s.")
	if paused {
		fs = newFlagSet(c.m, "accounts pause", pauseUsage,
			"Takes account NAME out of rotation without removing it: proxies route nothing to it within\n"+
				"60 s (their next account-list reload). It keeps being refreshed and its quota polled, so\n"+
				"`accounts resume NAME` brings it back at once, warm. `accounts` and `doctor` show it paused.")
	}
	pos, err := fs.positional(args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	if err := requireRegistered(ctx, fs.cmd, a.Accounts, name); err != nil {
		return err
	}
	if err := a.States.SetPaused(ctx, name, paused); err != nil {
		return settingsError(fs.cmd, name, err)
	}
	if paused {
		fmt.Fprintf(c.m.Stdout, "paused account %q: proxies stop routing to it within 60 s; it is still refreshed and its quota polled\n", name)
	} else {
		fmt.Fprintf(c.m.Stdout, "resumed account %q: proxies route to it again within 60 s\n", name)
	}
	return nil
}

// priority runs `accounts priority NAME N`.
func (c *AccountsCommand) priority(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "accounts priority", priorityUsage,
		"Sets account NAME's routing priority to N (an integer from -1000 to 1000; default 0). Proxies\n"+
			"prefer the usable accounts of the highest priority, and order those by the routing strategy\n"+
			"(CODEXGATE_ROUTING_STRATEGY: headroom, fill-first or soonest-reset); a lower priority serves\n"+
			"only when every higher one is limited, cooling down, paused or needs a login. A conversation\n"+
			"stays on its account while it is usable. Applies within 60 s.")
	pos, err := fs.positional(args, 2)
	if err != nil {
		return err
	}
	name := pos[0]
	n, err := strconv.Atoi(pos[1])
	if err != nil || n < -maxPriority || n > maxPriority {
		return usagef(fs.cmd, "priority %q: want an integer from %d to %d", pos[1], -maxPriority, maxPriority)
	}
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	if err := requireRegistered(ctx, fs.cmd, a.Accounts, name); err != nil {
		return err
	}
	if err := a.States.SetPriority(ctx, name, n); err != nil {
		return settingsError(fs.cmd, name, err)
	}
	fmt.Fprintf(c.m.Stdout, "account %q has priority %d; proxies apply it within 60 s\n", name, n)
	return nil
}

// requireRegistered refuses (usage error, nothing written) an account the
// registry does not list. The write's own condition covers a removal
// between this check and it.
func requireRegistered(ctx context.Context, cmd string, reg statestore.Registry, name string) error {
	missing, err := unregistered(ctx, reg, []string{name})
	if err != nil {
		return err
	}
	if missing != "" {
		return unknownAccount(cmd, name)
	}
	return nil
}

// unregistered returns the first of names the account registry does not
// list ("" when it lists them all), with one read of the registry.
func unregistered(ctx context.Context, reg statestore.Registry, names []string) (string, error) {
	known, err := reg.List(ctx)
	if err != nil {
		return "", fmt.Errorf("list accounts: %w", err)
	}
	for _, n := range names {
		if !slices.Contains(known, n) {
			return n, nil
		}
	}
	return "", nil
}

func unknownAccount(cmd, name string) error {
	return usagef(cmd, "unknown account %q (see `codexgate accounts`)", name)
}

func settingsError(cmd, name string, err error) error {
	if errors.Is(err, statestore.ErrNotRegistered) {
		return unknownAccount(cmd, name)
	}
	return err
}
