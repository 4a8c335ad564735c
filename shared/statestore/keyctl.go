package statestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
)

// KeyChange is what UpdateKey changes of a key's routing controls, which
// the proxy reads with the key itself (LookupKey), so that they cost no
// call of their own:
//
//   - Models: the upstream models the key may use (empty: every model);
//   - Accounts: the only accounts that may serve the key (empty: every
//     account);
//   - MaxConcurrent: the key's requests in flight per proxy container
//     (0: no cap).
//
// A nil field is left as it is; an empty list or 0 removes that control.
type KeyChange struct {
	Models        *[]string
	Accounts      *[]string
	MaxConcurrent *int
}

// ErrBadKeyChange wraps every KeyChange that UpdateKey refuses.
var ErrBadKeyChange = errors.New("invalid key setting")

// UpdateKey changes the routing controls of the active key named name.
// ErrKeyNotFound when no active key has the name; an invalid change
// (ErrBadKeyChange) writes nothing. Lists are stored deduplicated, in the
// order given. Whether listed accounts exist is the caller's check (the
// registry): a key may keep naming an account that was removed since.
func (s *Store) UpdateKey(ctx context.Context, name string, c KeyChange) error {
	var upd expression.UpdateBuilder
	given := false
	for _, l := range []struct {
		label, attr string
		v           *[]string
	}{
		{"model", "models", c.Models},
		{"account", "accounts", c.Accounts},
	} {
		if l.v == nil {
			continue
		}
		given = true
		list, err := CleanList(l.label, *l.v)
		if err != nil {
			return fmt.Errorf("update API key %q: %w", name, err)
		}
		if len(list) == 0 {
			upd = upd.Remove(expression.Name(l.attr))
		} else {
			upd = upd.Set(expression.Name(l.attr), expression.Value(list))
		}
	}
	if c.MaxConcurrent != nil {
		given = true
		switch n := *c.MaxConcurrent; {
		case n < 0:
			return fmt.Errorf("update API key %q: %w: negative concurrency cap %d", name, ErrBadKeyChange, n)
		case n == 0:
			upd = upd.Remove(expression.Name("max_concurrent"))
		default:
			upd = upd.Set(expression.Name("max_concurrent"), expression.Value(n))
		}
	}
	if !given {
		return fmt.Errorf("update API key %q: %w: nothing to change", name, ErrBadKeyChange)
	}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(attrPK))).WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("update API key %q: %w", name, err)
	}
	if err := s.updateActiveKeys(ctx, name, expr, false); err != nil {
		return fmt.Errorf("update API key %q: %w", name, err)
	}
	return nil
}

// CleanList checks a list of model or account names (what is one of
// label) and returns it without duplicates: every name is non-empty, at
// most 128 bytes, without spaces, commas or control characters.
func CleanList(label string, names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		switch {
		case n == "":
			return nil, fmt.Errorf("%w: empty %s name", ErrBadKeyChange, label)
		case len(n) > 128:
			return nil, fmt.Errorf("%w: %s name %.20q… is longer than 128 bytes", ErrBadKeyChange, label, n)
		case strings.ContainsFunc(n, func(r rune) bool { return r <= ' ' || r == ',' || r == 0x7f }):
			return nil, fmt.Errorf("%w: %s name %q has a space, comma or control character", ErrBadKeyChange, label, n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}
