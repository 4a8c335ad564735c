package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/codexgate/codexgate/shared/app"
	"github.com/codexgate/codexgate/shared/statestore"
)

// controlFlags are the key routing controls of `keys create` and `keys
// update`: --models, --accounts, --max-concurrent.
type controlFlags struct {
	models, accounts *string
	maxConcurrent    *int
}

func addControlFlags(fs *flagSet) controlFlags {
	return controlFlags{
		models:        fs.String("models", "", "comma-separated upstream models the key may use, e.g. gpt-5.5,gpt-5.4-mini; '' clears (every model)"),
		accounts:      fs.String("accounts", "", "comma-separated accounts that may serve the key (failover among them only); '' clears (every account)"),
		maxConcurrent: fs.Int("max-concurrent", 0, "requests the key may have in progress per proxy container (429 beyond); 0 clears (no cap)"),
	}
}

// change checks the control flags given and returns what they change: a
// flag not given is left out, an empty one clears.
func (f controlFlags) change(fs *flagSet) (statestore.KeyChange, error) {
	var c statestore.KeyChange
	var err error
	fs.Visit(func(fl *flag.Flag) {
		if err != nil {
			return
		}
		switch fl.Name {
		case "models":
			var l []string
			if l, err = parseList(fs.cmd, "models", "model", *f.models); err == nil {
				c.Models = &l
			}
		case "accounts":
			var l []string
			if l, err = parseList(fs.cmd, "accounts", "account", *f.accounts); err == nil {
				c.Accounts = &l
			}
		case "max-concurrent":
			if *f.maxConcurrent < 0 {
				err = usagef(fs.cmd, "--max-concurrent %d: want 0 (no cap) or more", *f.maxConcurrent)
				return
			}
			c.MaxConcurrent = f.maxConcurrent
		}
	})
	return c, err
}

// parseList reads a comma-separated list flag; "" is the empty list.
func parseList(cmd, flagName, label, v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return []string{}, nil
	}
	parts := strings.Split(v, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	list, err := statestore.CleanList(label, parts)
	if err != nil {
		return nil, usagef(cmd, "--%s %q: %s", flagName, v, strings.TrimPrefix(err.Error(), statestore.ErrBadKeyChange.Error()+": "))
	}
	return list, nil
}

// keyChangeGiven reports whether c changes anything.
func keyChangeGiven(c statestore.KeyChange) bool {
	return c.Models != nil || c.Accounts != nil || c.MaxConcurrent != nil
}

// checkAccounts refuses accounts that are not in the account registry,
// before anything is written.
func checkAccounts(ctx context.Context, a *app.App, cmd string, accounts *[]string) error {
	if accounts == nil || len(*accounts) == 0 {
		return nil
	}
	missing, err := unregistered(ctx, a.Accounts, *accounts)
	if err != nil {
		return fmt.Errorf("check --accounts: %w", err)
	}
	if missing != "" {
		return usagef(cmd, "--accounts: no account named %q (see `codexgate accounts`)", missing)
	}
	return nil
}

func (c *KeysCommand) update(ctx context.Context, args []string) error {
	fs := newFlagSet(c.m, "keys update", "codexgate keys update --name N [--models M,…] [--accounts A,…] [--max-concurrent C]",
		"Changes key N's routing controls. A flag not given is left as it is; an empty list or 0 clears it.\n"+
			"  --models: the key may use only these upstream models (after Claude names, effort suffixes and\n"+
			"    aliases are resolved); another is refused with 403 model_not_allowed (Anthropic:\n"+
			"    permission_error), and GET /v1/models lists only these.\n"+
			"  --accounts: only these accounts serve the key, with failover among them; when none can, the\n"+
			"    usual 429 or 503.\n"+
			"  --max-concurrent: requests in progress per proxy container (one `codexgate serve`, or one\n"+
			"    Lambda container, which serves one request at a time anyway); one more is refused with 429\n"+
			"    and Retry-After.\n"+
			"Proxies see a change within 60 s (their key cache).")
	name := fs.String("name", "", "name of the key")
	ctl := addControlFlags(fs)
	var change statestore.KeyChange
	a, err := c.parseName(ctx, fs, args, name, func() (err error) {
		if change, err = ctl.change(fs); err != nil {
			return err
		}
		if !keyChangeGiven(change) {
			return usagef(fs.cmd, "want --models, --accounts or --max-concurrent")
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := checkAccounts(ctx, a, fs.cmd, change.Accounts); err != nil {
		return err
	}
	if err := a.States.UpdateKey(ctx, *name, change); err != nil {
		switch {
		case errors.Is(err, statestore.ErrKeyNotFound):
			return fmt.Errorf("no active key named %q (see `codexgate keys list`)", *name)
		case errors.Is(err, statestore.ErrBadKeyChange):
			return usagef(fs.cmd, "%v", err)
		}
		return err
	}
	if change.Models != nil {
		fmt.Fprintf(c.m.Stdout, "key %s: models %s\n", *name, listOrAll(*change.Models, "every model"))
	}
	if change.Accounts != nil {
		fmt.Fprintf(c.m.Stdout, "key %s: accounts %s\n", *name, listOrAll(*change.Accounts, "every account"))
	}
	if change.MaxConcurrent != nil {
		fmt.Fprintf(c.m.Stdout, "key %s: max concurrent %s\n", *name, capOrDash(*change.MaxConcurrent, "no cap"))
	}
	return nil
}

// listOrAll shows a control list: its names, or all when empty.
func listOrAll(l []string, all string) string {
	if len(l) == 0 {
		return all
	}
	return strings.Join(l, ",")
}

// capOrDash shows a concurrency cap, or none when 0.
func capOrDash(n int, none string) string {
	if n <= 0 {
		return none
	}
	return strconv.Itoa(n)
}
