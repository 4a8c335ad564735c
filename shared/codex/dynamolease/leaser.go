package dynamolease

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/shared/codex"
)

// DynamoDBAPI is the part of the DynamoDB client the Leaser uses.
type DynamoDBAPI interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Leaser implements codex.Leaser on one DynamoDB table.
type Leaser struct {
	client DynamoDBAPI
	table  string
	now    func() time.Time
}

var _ codex.Leaser = (*Leaser)(nil)

// Option configures a Leaser.
type Option func(*Leaser)

// WithClock sets the clock used for :now and expiries (default time.Now).
// DynamoDB has no clock of its own, so tests move time with this.
func WithClock(now func() time.Time) Option {
	return func(l *Leaser) { l.now = now }
}

// New returns a Leaser storing leases in table.
func New(client DynamoDBAPI, table string, opts ...Option) *Leaser {
	l := &Leaser{client: client, table: table, now: time.Now}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Acquire takes the lease on key for owner when it is free (no item, or
// released), already owner's, or still exactly the stale record the caller
// watched stand still for a full lease duration; it adds one to the fence and
// starts a new beat. No stored time is compared with this machine's clock.
// When another owner holds it the error is a *codex.LeaseHeldError. A write
// whose outcome is unknown is resolved by a consistent read: owner == ours
// means acquired.
func (l *Leaser) Acquire(ctx context.Context, key, owner string, ttl time.Duration, stale *codex.LeaseHeldError) (*codex.Lease, error) {
	if owner == "" || ttl <= 0 {
		return nil, fmt.Errorf("acquire lease %s: owner must be set and ttl positive", key)
	}
	now := l.now()
	cond := expression.AttributeNotExists(expression.Name(attrPK)).
		Or(expression.Name(attrExpiresAt).Equal(expression.Value(0)),
			expression.Name(attrOwner).Equal(expression.Value(owner)))
	if stale != nil {
		beat := expression.Name(attrBeat).Equal(expression.Value(stale.Beat))
		if stale.Beat == 0 { // an item with no beat attribute counts as beat 0
			beat = beat.Or(expression.AttributeNotExists(expression.Name(attrBeat)))
		}
		cond = cond.Or(expression.Name(attrOwner).Equal(expression.Value(stale.Owner)).
			And(expression.Name(attrFence).Equal(expression.Value(stale.Fence)), beat))
	}
	upd := expression.Set(expression.Name(attrOwner), expression.Value(owner)).
		Set(expression.Name(attrExpiresAt), expression.Value(now.Add(ttl).UnixMilli())).
		Set(expression.Name(attrTTL), expression.Value(ttl.Milliseconds())).
		Set(expression.Name(attrBeat), expression.Value(0)).
		Add(expression.Name(attrFence), expression.Value(1))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return nil, fmt.Errorf("acquire lease %s: build expression: %w", key, err)
	}
	out, err := l.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(l.table),
		Key:                                 itemKey(key),
		ConditionExpression:                 expr.Condition(),
		UpdateExpression:                    expr.Update(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return decodeLease(key, out.Attributes)
	}

	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		item := ccf.Item
		if len(item) == 0 { // not every implementation returns it
			it, rerr := l.read(ctx, key)
			if rerr != nil {
				return nil, fmt.Errorf("acquire lease %s: held, and reading the holder failed: %w", key, rerr)
			}
			item = it
		}
		held, derr := decodeHeld(key, item)
		if derr != nil {
			return nil, fmt.Errorf("acquire lease %s: %w", key, derr)
		}
		return nil, held
	}

	// Unknown outcome: the write may have happened. Owners are unique per
	// attempt, so finding ours on the item means this attempt acquired.
	item, rerr := l.read(ctx, key)
	if rerr == nil && len(item) > 0 {
		if got, derr := decodeLease(key, item); derr == nil && got.Owner == owner {
			return got, nil
		}
	}
	return nil, fmt.Errorf("acquire lease %s: %w", key, err)
}

// Renew advances the lease's beat and expiry, on condition that owner and
// fence are still the lease's and it was not released (codex.ErrLeaseLost
// otherwise: a renewal that lands after the release must not lock the
// account again). Waiters reset their watch on every new beat. An unknown
// outcome is reported as an error: the holder retries on its next heartbeat
// and never counts an unconfirmed renewal as time gained.
func (l *Leaser) Renew(ctx context.Context, lease *codex.Lease, ttl time.Duration) error {
	upd := expression.Set(expression.Name(attrExpiresAt), expression.Value(l.now().Add(ttl).UnixMilli())).
		Set(expression.Name(attrTTL), expression.Value(ttl.Milliseconds())).
		Add(expression.Name(attrBeat), expression.Value(1))
	notReleased := expression.Name(attrExpiresAt).NotEqual(expression.Value(0))
	if err := l.updateIf(ctx, lease, &notReleased, upd); err != nil {
		return fmt.Errorf("renew lease %s: %w", lease.Key, err)
	}
	return nil
}

// SetPending records, on the lease item, the holder's intent: the account
// and version id it is about to write and the version it derives from
// (pending_account, pending_version, pending_base), with the refresh budget
// this refresh leaves. It fails with codex.ErrLeaseLost when the owner or
// fence changed.
func (l *Leaser) SetPending(ctx context.Context, lease *codex.Lease, p codex.Pending, b codex.RefreshBudget) error {
	upd := expression.Set(expression.Name(attrPendingAccount), expression.Value(p.Account)).
		Set(expression.Name(attrPendingVersion), expression.Value(p.Version)).
		Set(expression.Name(attrPendingBase), expression.Value(p.Base)).
		Set(expression.Name(attrBudgetTokens), expression.Value(b.Tokens)).
		Set(expression.Name(attrBudgetAt), expression.Value(b.At.UnixMilli()))
	// Unknown outcome: done when the item is still ours and holds our intent.
	return l.resolved(ctx, "set pending on", lease, l.update(ctx, lease, upd), func(got *codex.Lease) bool { return got.Pending == p })
}

// Release ends the lease (expires_at = 0) and records what the holder
// leaves behind, without deleting the item: the fence must survive. It fails
// with codex.ErrLeaseLost when the owner or fence changed, which means the
// holder outlived its lease.
func (l *Leaser) Release(ctx context.Context, lease *codex.Lease, r codex.Release) error {
	upd := expression.Set(expression.Name(attrExpiresAt), expression.Value(0))
	if len(r.Current) > 0 {
		// The holder read the map at acquire; every write to it is under
		// the lease, so replacing it whole loses no other account's entry.
		current := maps.Clone(lease.Current)
		if current == nil {
			current = map[string]string{}
		}
		maps.Copy(current, r.Current)
		maps.DeleteFunc(current, func(_, id string) bool { return id == "" }) // "": no name known
		upd = upd.Set(expression.Name(attrCurrent), expression.Value(current))
	}
	if !r.LastRefresh.IsZero() {
		upd = upd.Set(expression.Name(attrLastRefresh), expression.Value(r.LastRefresh.UTC().Format(time.RFC3339Nano)))
	}
	if r.ClearPending {
		upd = upd.Remove(expression.Name(attrPendingAccount)).
			Remove(expression.Name(attrPendingVersion)).
			Remove(expression.Name(attrPendingBase))
	}
	switch {
	case r.Reauth == nil:
	case len(r.Reauth) == 0:
		upd = upd.Remove(expression.Name(attrReauth))
	default:
		upd = upd.Set(expression.Name(attrReauth), expression.Value(encodeReauth(r.Reauth)))
	}
	// Unknown outcome: only Release sets expires_at to 0 while the owner and
	// fence stay the same, so that state means our release landed.
	return l.resolved(ctx, "release", lease, l.update(ctx, lease, upd), func(got *codex.Lease) bool { return got.ExpiresAt.UnixMilli() == 0 })
}

// resolved turns the outcome err of a holder's write (op, for messages) into
// its answer: nil and ErrLeaseLost as they are; an unknown outcome is
// settled by a consistent read, as done when the item is still ours and
// landed says the write is on it, as ErrLeaseLost when another holder owns
// it, and as the original error otherwise.
func (l *Leaser) resolved(ctx context.Context, op string, lease *codex.Lease, err error, landed func(*codex.Lease) bool) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, codex.ErrLeaseLost) {
		return fmt.Errorf("%s lease %s: %w", op, lease.Key, err)
	}
	got, ours, rerr := l.readOwn(ctx, lease)
	switch {
	case rerr != nil:
		return fmt.Errorf("%s lease %s: %w", op, lease.Key, err)
	case !ours:
		return fmt.Errorf("%s lease %s: %w (after: %v)", op, lease.Key, codex.ErrLeaseLost, err)
	case landed(got):
		return nil
	default:
		return fmt.Errorf("%s lease %s: %w", op, lease.Key, err)
	}
}

// update applies upd to the lease item on condition that owner and fence are
// still the lease's; a failed condition is codex.ErrLeaseLost.
func (l *Leaser) update(ctx context.Context, lease *codex.Lease, upd expression.UpdateBuilder) error {
	return l.updateIf(ctx, lease, nil, upd)
}

// updateIf is update with one more condition (nil: none).
func (l *Leaser) updateIf(ctx context.Context, lease *codex.Lease, also *expression.ConditionBuilder, upd expression.UpdateBuilder) error {
	cond := expression.Name(attrOwner).Equal(expression.Value(lease.Owner)).
		And(expression.Name(attrFence).Equal(expression.Value(lease.Fence)))
	if also != nil {
		cond = cond.And(*also)
	}
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("build expression: %w", err)
	}
	_, err = l.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(l.table),
		Key:                       itemKey(lease.Key),
		ConditionExpression:       expr.Condition(),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return codex.ErrLeaseLost
	}
	return err
}

// resolveTimeout bounds the read that resolves an unknown outcome. That read
// runs even when the caller's context has ended (the usual cause of an
// unknown outcome): an acquire that landed unseen would otherwise block every
// other holder until the lease expires.
const resolveTimeout = 3 * time.Second

// read returns the lease item by a consistent read; empty when absent.
func (l *Leaser) read(ctx context.Context, key string) (map[string]types.AttributeValue, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), resolveTimeout)
	defer cancel()
	out, err := l.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(l.table),
		Key:            itemKey(key),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read lease %s: %w", key, err)
	}
	return out.Item, nil
}

// readOwn reads the lease item and reports whether owner and fence are
// still the lease's.
func (l *Leaser) readOwn(ctx context.Context, lease *codex.Lease) (*codex.Lease, bool, error) {
	item, err := l.read(ctx, lease.Key)
	if err != nil {
		return nil, false, err
	}
	if len(item) == 0 {
		return nil, false, nil
	}
	got, err := decodeLease(lease.Key, item)
	if err != nil {
		return nil, false, err
	}
	return got, got.Owner == lease.Owner && got.Fence == lease.Fence, nil
}

// Inspect reads the lease item of key consistently and returns its record
// (a zero record when there is no item).
func (l *Leaser) Inspect(ctx context.Context, key string) (*codex.LeaseHeldError, error) {
	item, err := l.read(ctx, key)
	if err != nil {
		return nil, err
	}
	if len(item) == 0 {
		return &codex.LeaseHeldError{}, nil
	}
	return decodeHeld(key, item)
}

// Budget reads the refresh budget the lease item of key holds (a zero
// budget, a full bucket, when there is no item or none was spent).
func (l *Leaser) Budget(ctx context.Context, key string) (codex.RefreshBudget, error) {
	item, err := l.read(ctx, key)
	if err != nil || len(item) == 0 {
		return codex.RefreshBudget{}, err
	}
	got, err := decodeLease(key, item)
	if err != nil {
		return codex.RefreshBudget{}, err
	}
	return got.Budget, nil
}
