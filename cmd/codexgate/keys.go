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

const keysUsage = "codexgate keys create --name N | keys list [--json] | keys revoke --name N"

// Run executes `codexgate keys SUBCOMMAND`.
func (c *KeysCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("keys", "want a subcommand: create, list or revoke")
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
	}
	return usagef("keys", "unknown keys subcommand %q: want create, list or revoke", args[0])
}

func (c *KeysCommand) create(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys create", "codexgate keys create --name N",
		"Creates a client API key named N and prints it on stdout, once: it is stored only as a digest\n"+
			"and cannot be shown again. Give it to a client as CODEXGATE_API_KEY.")
	name := fs.String("name", "", "key name (letters, digits, '.', '_', '-'), e.g. laptop")
	a, err := c.parseName(ctx, fs, args, name)
	if err != nil {
		return err
	}
	plaintext, _, err := a.States.CreateKey(ctx, *name)
	if errors.Is(err, statestore.ErrKeyExists) {
		return fmt.Errorf("an active key named %q exists: pick another name, or revoke it first", *name)
	}
	if err != nil {
		return err
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
		rows = append(rows, keyRow{Name: k.Name, Prefix: k.Prefix, CreatedAt: timePtr(k.CreatedAt), Revoked: k.Revoked, RevokedAt: timePtr(k.RevokedAt)})
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
	fmt.Fprintln(tw, "NAME\tKEY\tCREATED\tSTATUS")
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
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\n", r.Name, r.Prefix, created, status)
	}
	return tw.Flush()
}
