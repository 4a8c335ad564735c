package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/statestore"
)

// KeysCommand manages the API keys clients present to codexgate.
type KeysCommand struct{ m *Main }

const keysUsage = "codexgate keys create --name N [--daily-tokens T] | keys list [--json] | keys revoke --name N | keys budget --name N --daily-tokens T"

// Run executes `codexgate keys SUBCOMMAND`.
func (c *KeysCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("keys", "want a subcommand: create, list, revoke or budget")
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
	}
	return usagef("keys", "unknown keys subcommand %q: want create, list, revoke or budget", args[0])
}

func (c *KeysCommand) create(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys create", "codexgate keys create --name N [--daily-tokens T]",
		"Creates a client API key named N and prints it on stdout, once: it is stored only as a digest\n"+
			"and cannot be shown again. Give it to a client as CODEXGATE_API_KEY.")
	name := fs.String("name", "", "key name (letters, digits, '.', '_', '-'), e.g. laptop")
	daily := fs.Int64("daily-tokens", 0, "daily budget of input + output tokens (UTC day; 0: none); see `keys budget`")
	a, err := c.parseName(ctx, fs, args, name)
	if err != nil {
		return err
	}
	if *daily < 0 {
		return usagef(fs.cmd, "--daily-tokens %d: want 0 (none) or more", *daily)
	}
	plaintext, _, err := a.States.CreateKey(ctx, *name)
	if errors.Is(err, statestore.ErrKeyExists) {
		return fmt.Errorf("an active key named %q exists: pick another name, or revoke it first", *name)
	}
	if err != nil {
		return err
	}
	if *daily > 0 {
		if err := a.States.SetKeyBudget(ctx, *name, *daily); err != nil {
			return fmt.Errorf("key %q created but its budget was not set (run `codexgate keys budget`; the key was not printed, revoke it): %w", *name, err)
		}
	}
	fmt.Fprintln(c.m.Stdout, plaintext)
	fmt.Fprintf(c.m.Stderr, "created key %q; it is shown only once\n", *name)
	return nil
}

func (c *KeysCommand) revoke(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys revoke", "codexgate keys revoke --name N",
		"Revokes key N. Running proxies stop accepting it within their key cache TTL (30 s by default).")
	name := fs.String("name", "", "name of the key to revoke")
	a, err := c.parseName(ctx, fs, args, name)
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
	fs := newFlagSet(c.m, "keys budget", "codexgate keys budget --name N --daily-tokens T",
		"Sets key N's daily budget of input + output tokens (per UTC day; 0 removes it). A key over its\n"+
			"budget is refused (429 insufficient_quota; Anthropic rate_limit_error on /v1/messages) until\n"+
			"the next UTC midnight. Proxies see a new budget within their key cache TTL (30 s), and other\n"+
			"containers' use within 10 s: a key can overshoot by what is served meanwhile (README).")
	name := fs.String("name", "", "name of the key")
	daily := fs.Int64("daily-tokens", -1, "daily budget of input + output tokens; 0 removes it")
	a, err := c.parseName(ctx, fs, args, name)
	if err != nil {
		return err
	}
	if *daily < 0 {
		return usagef(fs.cmd, "--daily-tokens is required: a budget of 1 or more tokens, or 0 to remove it")
	}
	if err := a.States.SetKeyBudget(ctx, *name, *daily); err != nil {
		if errors.Is(err, statestore.ErrKeyNotFound) {
			return fmt.Errorf("no active key named %q (see `codexgate keys list`)", *name)
		}
		return err
	}
	if *daily == 0 {
		fmt.Fprintf(c.m.Stdout, "key %s: no daily budget\n", *name)
	} else {
		fmt.Fprintf(c.m.Stdout, "key %s: daily budget %d tokens\n", *name, *daily)
	}
	return nil
}

// parseName parses a --name command line and wires the app.
func (c *KeysCommand) parseName(ctx context.Context, fs *flagSet, args []string, name *string) (*app.App, error) {
	if err := fs.parse(args); err != nil {
		return nil, err
	}
	if err := fs.require(map[string]string{"name": *name}); err != nil {
		return nil, err
	}
	if !keyName.MatchString(*name) {
		return nil, usagef(fs.cmd, "key name %q: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", *name)
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
	// DailyTokens is the daily budget of input + output tokens; 0: none.
	DailyTokens int64 `json:"daily_tokens"`
}

func (c *KeysCommand) list(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys list", "codexgate keys list [--json]",
		"Lists client API keys: name, the key's first characters, creation time, revocation.")
	asJSON := fs.Bool("json", false, "print a JSON array instead of a table")
	if err := fs.parse(args); err != nil {
		return err
	}
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	keys, err := a.States.ListKeys(ctx)
	if err != nil {
		return fmt.Errorf("list keys: %w", err)
	}
	rows := make([]keyRow, 0, len(keys))
	for _, k := range keys {
		rows = append(rows, keyRow{Name: k.Name, Prefix: k.Prefix, CreatedAt: timePtr(k.CreatedAt), Revoked: k.Revoked, RevokedAt: timePtr(k.RevokedAt), DailyTokens: k.DailyTokens})
	}
	if *asJSON {
		enc := json.NewEncoder(c.m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.m.Stdout, "no keys yet: create one with `codexgate keys create --name N`")
		return nil
	}
	tw := tabwriter.NewWriter(c.m.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKEY\tCREATED\tSTATUS\tDAILY BUDGET")
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
		budget := "-"
		if r.DailyTokens > 0 {
			budget = fmt.Sprintf("%d tokens", r.DailyTokens)
		}
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\n", r.Name, r.Prefix, created, status, budget)
	}
	return tw.Flush()
}
