package main

import (
	"context"
	"fmt"
	"os"

	"github.com/codexgate/codexgate/shared/codex"
)

// ImportCommand stores a Codex auth.json (e.g. ~/.codex/auth.json) as an
// account's secret.
type ImportCommand struct{ m *Main }

// Run executes `codexgate import`.
func (c *ImportCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "import", "codexgate import --account NAME --auth-file FILE [--replace]",
		"Validates a Codex auth.json (the file `codex login` writes to ~/.codex/auth.json) and stores it\n"+
			"as account NAME's secret in Secrets Manager, clearing a reauth_required state. The file needs a\n"+
			"refresh token. A ChatGPT account already stored under another name is refused unless --replace.\n"+
			"Note: Codex CLI and codexgate must not keep refreshing the same login; prefer `codexgate login`\n"+
			"for an independent login, or stop using that auth.json elsewhere.")
	account := fs.String("account", "", "account name (letters, digits, '.', '_', '-')")
	file := fs.String("auth-file", "", "path of the Codex auth.json to import")
	replace := fs.Bool("replace", false, "store even if the ChatGPT account is stored under another name, or NAME holds another ChatGPT account")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := fs.require(map[string]string{"account": *account, "auth-file": *file}); err != nil {
		return err
	}
	if err := checkAccountName("import", *account); err != nil {
		return err
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("read auth file: %w", err)
	}
	auth, err := codex.ParseAuthFile(*account, data)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	if _, err := storeLogin(ctx, a, c.m.Stderr, *account, auth, *replace); err != nil {
		return err
	}
	fmt.Fprintf(c.m.Stdout, "imported account %s (%s)\n", *account, describeLogin(auth))
	return nil
}
