package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// ExportCommand writes an account's current login back to a Codex auth.json.
type ExportCommand struct{ m *Main }

// Run executes `codexgate export`.
func (c *ExportCommand) Run(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "export", "codexgate export --account NAME --auth-file FILE",
		"Writes account NAME's current login (the refresh token codexgate rotated last) to FILE as a Codex\n"+
			"auth.json, atomically and readable only by you; the previous file is kept as FILE.bak. Use it\n"+
			"when codexgate stops holding a login that Codex CLI will use again: a login refreshed by\n"+
			"codexgate has a new refresh token, and the one in the old file is spent. A FILE holding another\n"+
			"ChatGPT account, or a newer login of this one, is left alone unless --force.")
	account := fs.String("account", "", "account name")
	file := fs.String("auth-file", "", "path of the auth.json to write (e.g. ~/.codex/auth.json)")
	force := fs.Bool("force", false, "overwrite FILE even if it holds another account or a newer login")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := fs.require(map[string]string{"account": *account, "auth-file": *file}); err != nil {
		return err
	}
	if err := checkAccountName("export", *account); err != nil {
		return err
	}
	a, err := c.m.loadApp(ctx, quiet)
	if err != nil {
		return err
	}
	cur, err := a.Secrets.LoadCurrent(ctx, *account)
	if err != nil {
		return accountError(*account, err)
	}
	old, err := os.ReadFile(*file)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read %s: %w", *file, err)
	default:
		if err := checkExport(*file, old, cur.Auth, *force); err != nil {
			return err
		}
		if prev, perr := codex.ParseAuthFile(*account, old); perr == nil && prev.Token.Refresh == cur.Auth.Token.Refresh {
			fmt.Fprintf(c.m.Stdout, "%s already holds account %s's current login\n", *file, *account)
			return nil
		}
	}
	data, err := cur.Auth.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encode account %q: %w", *account, err)
	}
	if err := writeAtomic(*file, data, old); err != nil {
		return err
	}
	fmt.Fprintf(c.m.Stdout, "wrote account %s's current login to %s (%s)\n", *account, *file, describeLogin(cur.Auth))
	return nil
}

// checkExport refuses to replace a file that holds another ChatGPT account
// or a login newer than the one being exported.
func checkExport(file string, old []byte, cur *codex.AuthFile, force bool) error {
	prev, err := codex.ParseAuthFile("file", old)
	if err != nil || force {
		return nil // unreadable: replaced (it is kept as .bak)
	}
	switch {
	case prev.Token.AccountID != "" && cur.Token.AccountID != "" && prev.Token.AccountID != cur.Token.AccountID:
		return fmt.Errorf("%s holds ChatGPT account %s, not %s; pass --force to overwrite it", file, maskID(prev.Token.AccountID), maskID(cur.Token.AccountID))
	case prev.Token.Refresh != cur.Token.Refresh && prev.LastRefresh.After(cur.LastRefresh):
		return fmt.Errorf("%s holds a newer login (refreshed %s, codexgate's %s); pass --force to overwrite it",
			file, prev.LastRefresh.UTC().Format(time.RFC3339), orDash(formatTime(cur.LastRefresh)))
	}
	return nil
}

// writeAtomic replaces file with data (mode 0600) by a rename, keeping the
// previous content, if any, as file.bak.
func writeAtomic(file string, data, old []byte) error {
	if old != nil {
		if err := os.WriteFile(file+".bak", old, 0o600); err != nil {
			return fmt.Errorf("keep %s.bak: %w", file, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".codexgate-export-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
