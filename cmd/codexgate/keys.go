package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/statestore"
)

// KeysCommand manages the API keys clients present to codexgate.
type KeysCommand struct{ m *Main }

const keysUsage = "codexgate keys create --name N [--daily-tokens T] [--weekly-tokens W] [--models M,…] [--accounts A,…] [--max-concurrent C] [--admin] | keys list [--json] | keys revoke --name N | keys budget --name N [--daily-tokens T] [--weekly-tokens W] | keys update --name N [--models M,…] [--accounts A,…] [--max-concurrent C]"

// Run executes `codexgate keys SUBCOMMAND`.
func (c *KeysCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("keys", "want a subcommand: create, list, revoke, budget or update")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(c.m.Stdout, "Usage: %s\n\nClient API keys authenticate requests to codexgate (Authorization: Bearer KEY, or x-api-key).\n"+
			"Only a SHA-256 digest of each key is stored; `keys create` prints the key once.\n", keysUsage)
		return nil
	case "create":
		return c.create(ctx, args[1:])
	case "list":
		return c.list(ctx, args[1:])
	case "revoke":
		return c.revoke(ctx, args[1:])
	case "budget":
		return c.budget(ctx, args[1:])
	case "update":
		return c.update(ctx, args[1:])
	}
	return usagef("keys", "unknown keys subcommand %q: want create, list, revoke, budget or update", args[0])
}

func (c *KeysCommand) create(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys create", "codexgate keys create --name N [--daily-tokens T] [--weekly-tokens W] [--models M,…] [--accounts A,…] [--max-concurrent C] [--admin]",
		"Creates a client API key named N and prints it on stdout, once: it is stored only as a digest\n"+
			"and cannot be shown again. Give it to a client as CODEXGATE_API_KEY. --models, --accounts and\n"+
			"--max-concurrent restrict it (see `keys update --help`).\n"+
			"With --admin it is an admin key instead: it reads the operator console (GET /status, GET\n"+
			"/v1/admin/status) and is refused as a client key (401); a client key gets 403 there.")
	name := fs.String("name", "", "key name (letters, digits, '.', '_', '-'), e.g. laptop")
	daily := fs.Int64("daily-tokens", 0, "daily budget of input + output tokens (UTC day; 0: none); see `keys budget`")
	weekly := fs.Int64("weekly-tokens", 0, "weekly budget of input + output tokens (ISO week: Monday 00:00 UTC to the next Monday; 0: none)")
	ctl := addControlFlags(fs)
	admin := fs.Bool("admin", false, "an admin key: reads the operator console only, serves no client")
	var change statestore.BudgetChange
	var controls statestore.KeyChange
	a, err := c.parseName(ctx, fs, args, name, func() (err error) {
		if change, err = budgetFlags(fs, daily, weekly); err != nil {
			return err
		}
		if controls, err = ctl.change(fs); err != nil {
			return err
		}
		if *admin && (*daily > 0 || *weekly > 0 || keyChangeGiven(controls)) {
			err = usagef(fs.cmd, "--admin: an admin key serves no client, so it takes no token budget or routing control")
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := checkAccounts(ctx, a, fs.cmd, controls.Accounts); err != nil {
		return err
	}
	create := a.States.CreateKey
	if *admin {
		create = a.States.CreateAdminKey
	}
	plaintext, _, err := create(ctx, *name)
	if errors.Is(err, statestore.ErrKeyExists) {
		return fmt.Errorf("an active key named %q exists: pick another name, or revoke it first", *name)
	}
	if err != nil {
		return err
	}
	if *daily > 0 || *weekly > 0 {
		if err := a.States.SetKeyBudget(ctx, *name, change); err != nil {
			return fmt.Errorf("key %q created but its budget was not set (run `codexgate keys budget`; the key was not printed, revoke it): %w", *name, err)
		}
	}
	if keyChangeGiven(controls) {
		if err := a.States.UpdateKey(ctx, *name, controls); err != nil {
			return fmt.Errorf("key %q created but its controls were not set (the key was not printed, revoke it): %w", *name, err)
		}
	}
	fmt.Fprintln(c.m.Stdout, plaintext)
	kind := "key"
	if *admin {
		kind = "admin key"
	}
	fmt.Fprintf(c.m.Stderr, "created %s %q; it is shown only once\n", kind, *name)
	return nil
}

func (c *KeysCommand) revoke(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys revoke", "codexgate keys revoke --name N",
		"Revokes key N. Every running proxy stops accepting it within 60 s.")
	name := fs.String("name", "", "name of the key to revoke")
	a, err := c.parseName(ctx, fs, args, name, nil)
	if err != nil {
		return err
	}
	if err := a.States.RevokeKey(ctx, *name); err != nil {
		if errors.Is(err, statestore.ErrKeyNotFound) {
			return fmt.Errorf("no key named %q (see `codexgate keys list`)", *name)
		}
		return err
	}
	fmt.Fprintf(c.m.Stdout, "revoked key %s\n", *name)
	return nil
}

func (c *KeysCommand) budget(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys budget", "codexgate keys budget --name N [--daily-tokens T] [--weekly-tokens W]",
		"Sets key N's budgets of input + output tokens: per UTC day, and per ISO week (Monday 00:00 UTC\n"+
			"to the next Monday). Give either or both; 0 removes one, one not given is left as it is. A key\n"+
			"over a budget is refused (429 insufficient_quota; Anthropic rate_limit_error on /v1/messages)\n"+
			"until the next UTC midnight, or the next Monday 00:00 UTC for the weekly one. Proxies see a\n"+
			"new budget within 30 to 60 s (their key cache), and other containers' use within about 11 s: a\n"+
			"key can overshoot by what is served meanwhile (README).")
	name := fs.String("name", "", "name of the key")
	daily := fs.Int64("daily-tokens", 0, "daily budget of input + output tokens; 0 removes it")
	weekly := fs.Int64("weekly-tokens", 0, "weekly budget of input + output tokens; 0 removes it")
	var change statestore.BudgetChange
	a, err := c.parseName(ctx, fs, args, name, func() (err error) {
		if change, err = budgetFlags(fs, daily, weekly); err != nil {
			return err
		}
		if change.Daily == nil && change.Weekly == nil {
			return usagef(fs.cmd, "want --daily-tokens or --weekly-tokens (or both): a budget of 1 or more tokens, or 0 to remove it")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := a.States.SetKeyBudget(ctx, *name, change); err != nil {
		if errors.Is(err, statestore.ErrKeyNotFound) {
			return fmt.Errorf("no active key named %q (see `codexgate keys list`)", *name)
		}
		return err
	}
	for _, b := range []struct {
		label string
		v     *int64
	}{{"daily", change.Daily}, {"weekly", change.Weekly}} {
		switch {
		case b.v == nil:
		case *b.v == 0:
			fmt.Fprintf(c.m.Stdout, "key %s: no %s budget\n", *name, b.label)
		default:
			fmt.Fprintf(c.m.Stdout, "key %s: %s budget %d tokens\n", *name, b.label, *b.v)
		}
	}
	return nil
}

// budgetFlags checks --daily-tokens and --weekly-tokens and returns the
// change they ask for: a flag not given is left out.
func budgetFlags(fs *flagSet, daily, weekly *int64) (statestore.BudgetChange, error) {
	var change statestore.BudgetChange
	var err error
	fs.Visit(func(f *flag.Flag) {
		var v *int64
		switch f.Name {
		case "daily-tokens":
			v, change.Daily = daily, daily
		case "weekly-tokens":
			v, change.Weekly = weekly, weekly
		default:
			return
		}
		if *v < 0 && err == nil {
			err = usagef(fs.cmd, "--%s %d: want 0 (none) or more", f.Name, *v)
		}
	})
	return change, err
}

// parseName parses a --name command line, runs check on the other flags
// (when not nil) and wires the app: bad arguments are refused before any
// AWS configuration is needed.
func (c *KeysCommand) parseName(ctx context.Context, fs *flagSet, args []string, name *string, check func() error) (*app.App, error) {
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	if err := fs.require(map[string]string{"name": *name}); err != nil {
		return nil, err
	}
	if !keyName.MatchString(*name) {
		return nil, usagef(fs.cmd, "key name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", *name)
	}
	if check != nil {
		if err := check(); err != nil {
			return nil, err
		}
	}
	return c.m.loadApp(ctx, quiet)
}

// keyRow is one key as `codexgate keys list --json` prints it.
type keyRow struct {
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"` // the key's first characters, to recognise it
	CreatedAt *time.Time `json:"created_at,omitempty"`
	Revoked   bool       `json:"revoked"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// DailyTokens and WeeklyTokens are the budgets of input + output
	// tokens per UTC day and per ISO week; 0: none.
	DailyTokens  int64 `json:"daily_tokens"`
	WeeklyTokens int64 `json:"weekly_tokens"`
	// Models and Accounts are the key's allow-lists (empty: every model,
	// every account); MaxConcurrent its cap of requests in progress per
	// proxy container (0: none).
	Models        []string `json:"models"`
	Accounts      []string `json:"accounts"`
	MaxConcurrent int      `json:"max_concurrent"`
	// Admin: an admin key (operator console only), not a client key.
	Admin bool `json:"admin"`
}

func (c *KeysCommand) list(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys list", "codexgate keys list [--json]",
		"Lists API keys: name, the key's first characters, role (client, or admin: operator console\n"+
			"only), creation time, revocation, budgets and routing controls (models, accounts, max\n"+
			"concurrent; - for none).")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	a, err := c.m.parseThenLoad(ctx, fs, args)
	if err != nil {
		return err
	}
	keys, err := a.States.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	rows := make([]keyRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, keyRow{Name: k.Name, Prefix: k.Prefix, CreatedAt: timePtr(k.CreatedAt), Revoked: k.Revoked, RevokedAt: timePtr(k.RevokedAt), DailyTokens: k.DailyTokens, WeeklyTokens: k.WeeklyTokens,
			Models: nonNil(k.Models), Accounts: nonNil(k.Accounts), MaxConcurrent: k.MaxConcurrent, Admin: k.Admin})
	}
	if *asJSON {
		return c.m.printJSON(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.m.Stdout, "no keys yet: create one with `codexgate keys create --name N`")
		return nil
	}
	tw := tabwriter.NewWriter(c.m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKEY\tROLE\tCREATED\tSTATUS\tDAILY BUDGET\tWEEKLY BUDGET\tMODELS\tACCOUNTS\tMAX CONCURRENT")
	for _, r := range rows {
		status := "active"
		if r.Revoked {
			status = "revoked"
			if r.RevokedAt != nil {
				status += " " + r.RevokedAt.Format(time.RFC3339)
			}
		}
		created := "-"
		if r.CreatedAt != nil {
			created = r.CreatedAt.Format(time.RFC3339)
		}
		role := "client"
		if r.Admin {
			role = "admin"
		}
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Prefix, role, created, status, tokensOrDash(r.DailyTokens), tokensOrDash(r.WeeklyTokens),
			listOrAll(r.Models, "-"), listOrAll(r.Accounts, "-"), capOrDash(r.MaxConcurrent, "-"))
	}
	return tw.Flush()
}

// tokensOrDash shows a budget: "N tokens", or "-" for none.
func tokensOrDash(n int64) string {
	if n <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d tokens", n)
}

// nonNil makes an absent list [] in JSON.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
