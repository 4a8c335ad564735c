package statestore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Registry item keys (pk "accounts", see doc.go).
const (
	skRegistry   = "registry#"
	skBackfilled = "registry" // marker: the one-time backfill ran
)

// Register records account in the account registry (import and login).
// Registering a registered account again only refreshes its timestamp. It
// is an UpdateItem, like every write the proxy may make (IAM: the proxy
// never puts whole items).
func (s *Store) Register(ctx context.Context, account string) error {
	if err := s.touch(ctx, skRegistry+account, account); err != nil {
		return fmt.Errorf("register account %q: %w", account, err)
	}
	return nil
}

// touch creates or updates the accounts partition's item sk, setting its
// account (when not empty) and updated_at.
func (s *Store) touch(ctx context.Context, sk, account string) error {
	upd := expression.Set(expression.Name(attrUpdated), expression.Value(s.stamp()))
	if account != "" {
		upd = upd.Set(expression.Name("account"), expression.Value(account))
	}
	expr, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return err
	}
	return s.updateItem(ctx, key(pkAccounts, sk), expr)
}

// Deregister removes account from the registry together with its state and
// quota items (`codexgate accounts remove`). Removing an unknown account is
// no error.
func (s *Store) Deregister(ctx context.Context, account string) error {
	for _, sk := range []string{skRegistry, skState, skQuota} {
		if _, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.table), Key: key(pkAccounts, sk+account),
		}); err != nil {
			return fmt.Errorf("deregister account %q: %w", account, err)
		}
	}
	return nil
}

// markBackfilled records that the one-time backfill ran.
func (s *Store) markBackfilled(ctx context.Context) error {
	if err := s.touch(ctx, skBackfilled, ""); err != nil {
		return fmt.Errorf("mark account registry backfilled: %w", err)
	}
	return nil
}

// SecretChecker says whether an account's secret exists and is not
// scheduled for deletion; secretstore.Store implements it (DescribeSecret,
// which the functions may call, unlike ListSecrets).
type SecretChecker interface {
	Exists(ctx context.Context, account string) (bool, error)
}

// Registry lists the registered accounts from the accounts partition: the
// same Query that Load makes, never Secrets Manager's ListSecrets.
//
// A deployment from before the registry has secrets but no registry items.
// The first List that finds no backfill marker registers every account the
// partition already knows of (a state item, written by every import, login
// and reauth mark, or a quota item, written by every quota-cron poll) whose
// secret still exists, then sets the marker: the upgrade needs no operator
// action, and a later removal is never undone. The checks run 8 at a time;
// a backfill that cannot finish (a failed check, a load's timeout) leaves
// the marker unset, so the next List resumes it (what it registered stays
// registered); the accounts registered so far are served meanwhile.
type Registry struct {
	Store   *Store
	Secrets SecretChecker
	Logger  *slog.Logger // nil: slog.Default()
}

// List returns the registered accounts, sorted.
func (r Registry) List(ctx context.Context) ([]string, error) {
	snap, err := r.Store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return r.Accounts(ctx, snap), nil
}

// Accounts returns snap's registered accounts, sorted, after running the
// one-time backfill when snap has no marker. It never fails: a failed
// backfill is logged and retried by the next call.
func (r Registry) Accounts(ctx context.Context, snap Snapshot) []string {
	names := slices.Clone(snap.Registered)
	if snap.Backfilled || r.Store == nil || r.Secrets == nil {
		return names
	}
	added, err := r.backfill(ctx, snap)
	names = append(names, added...)
	slices.Sort(names)
	names = slices.Compact(names)
	if err != nil {
		log := r.Logger
		if log == nil {
			log = slog.Default()
		}
		log.LogAttrs(ctx, slog.LevelWarn, "backfill account registry", slog.String("error", err.Error()),
			slog.Int("registered", len(names)))
	}
	return names
}

// backfillConcurrency bounds the secret checks a backfill runs at once.
// Each account it registers stays registered, so a backfill cut short (a
// pool load's timeout) resumes where it stopped.
const backfillConcurrency = 8

// backfill registers the partition's known accounts whose secrets exist and
// marks the registry backfilled; it returns the accounts it registered.
func (r Registry) backfill(ctx context.Context, snap Snapshot) ([]string, error) {
	var candidates []string
	for name := range snap.States {
		candidates = append(candidates, name)
	}
	for name := range snap.Quotas {
		candidates = append(candidates, name)
	}
	slices.Sort(candidates)
	candidates = slices.Compact(candidates)
	var (
		mu    sync.Mutex
		added []string
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, backfillConcurrency)
	)
	for _, name := range candidates {
		if _, ok := slices.BinarySearch(snap.Registered, name); ok {
			continue
		}
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			err := r.register(ctx, name)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, errNoSecret):
			case err != nil:
				errs = append(errs, err)
			default:
				added = append(added, name)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return added, err
	}
	return added, r.Store.markBackfilled(ctx)
}

// errNoSecret: the account has no secret (or one scheduled for deletion).
var errNoSecret = errors.New("no secret")

// register registers name if its secret exists.
func (r Registry) register(ctx context.Context, name string) error {
	ok, err := r.Secrets.Exists(ctx, name)
	if err != nil {
		return fmt.Errorf("check secret of %q: %w", name, err)
	}
	if !ok {
		return errNoSecret
	}
	return r.Store.Register(ctx, name)
}
