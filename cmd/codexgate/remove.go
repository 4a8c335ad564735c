package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

const removeUsage = "codexgate accounts remove NAME [--yes] [--recovery-days D]"

// remove runs `codexgate accounts remove NAME`: it schedules the account's
// secret for deletion (Secrets Manager's recovery window: restorable until
// then) and deletes the account from the registry, so that the proxy and
// the scheduled functions stop using it at their next load.
func (c *AccountsCommand) remove(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "accounts remove", removeUsage,
		"Removes account NAME: deletes it from the account registry in the table (with its state and\n"+
			"quota snapshot), so proxies stop routing to it within a minute and the scheduled functions\n"+
			"skip it, and schedules its secret for deletion after the recovery window, during which\n"+
			"`aws secretsmanager restore-secret --secret-id <prefix>NAME` brings the secret back (then\n"+
			"`codexgate import` or `login` registers the account again). Asks for confirmation unless --yes.")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	days := fs.Int("recovery-days", 30, "days (7 to 30) before Secrets Manager deletes the secret for good")
	var names []string
	for rest := args; ; {
		if err := fs.parseFlags(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		names, rest = append(names, fs.Arg(0)), fs.Args()[1:]
	}
	switch {
	case len(names) != 1:
		return usagef(fs.cmd, "want one account NAME, got %d", len(names))
	case *days < 7 || *days > 30:
		return usagef(fs.cmd, "--recovery-days must be 7 to 30, not %d", *days)
	}
	name := names[0]
	if !*yes && !c.confirm(name, *days) {
		return fmt.Errorf("account %q not removed: not confirmed (type yes, or pass --yes)", name)
	}
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	at, err := a.Secrets.ScheduleDelete(ctx, name, *days)
	switch {
	case errors.Is(err, codex.ErrAccountNotFound):
		fmt.Fprintf(c.m.Stderr, "account %q has no secret; removing it from the registry\n", name)
	case err != nil:
		return err
	}
	if err := a.States.Deregister(ctx, name); err != nil {
		return fmt.Errorf("secret of account %q scheduled for deletion, but removing it from the registry failed (run this again): %w", name, err)
	}
	if !at.IsZero() {
		fmt.Fprintf(c.m.Stdout, "removed account %q; its secret %s is deleted for good on %s unless restored\n",
			name, a.Secrets.SecretName(name), at.UTC().Format(time.RFC3339))
	} else {
		fmt.Fprintf(c.m.Stdout, "removed account %q\n", name)
	}
	return nil
}

// confirm asks on stderr and reads one line from stdin.
func (c *AccountsCommand) confirm(name string, days int) bool {
	fmt.Fprintf(c.m.Stderr, "Remove account %q? Proxies stop using it and its secret is deleted in %d days. Type yes: ", name, days)
	line, _ := bufio.NewReader(c.m.Stdin).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "yes", "y":
		return true
	}
	return false
}
