package statestore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/quota"
)

// DynamoDBAPI is the part of the DynamoDB client the Store uses.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// Account statuses.
const (
	StatusOK             = "ok"
	StatusReauthRequired = "reauth_required"
)

// Key layout (see doc.go).
const (
	pkAccounts  = "accounts"
	skState     = "state#"
	skQuota     = "quota#"
	pkAPIKeys   = "apikeys"
	attrPK      = "pk"
	attrSK      = "sk"
	attrUpdated = "updated_at"
)

// Store reads and writes account state, quota snapshots and API keys.
type Store struct {
	client DynamoDBAPI
	table  string
	now    func() time.Time
}

var _ codex.AccountStates = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock for timestamps (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// New returns a Store on table.
func New(client DynamoDBAPI, table string, opts ...Option) *Store {
	s := &Store{client: client, table: table, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// AccountState is one account's health. The zero value (no record) is a
// healthy account.
type AccountState struct {
	Account        string
	Status         string // StatusOK or StatusReauthRequired; "" when never set
	Reason         string // why reauth is required, e.g. refresh_token_reused
	StatusAt       time.Time
	CooldownUntil  time.Time // zero when not cooling down
	CooldownReason string
	// CooldownStrikes counts the 401 cooldowns in a row, without a success
	// or a newer token between them; CooldownVersion is the secret version
	// whose token the last of them rejected.
	CooldownStrikes int
	CooldownVersion string
	// LoginVersion is the version the last import or login stored.
	LoginVersion string
}

// stateItem is an account state item as stored.
type stateItem struct {
	Account         string `dynamodbav:"account"`
	Status          string `dynamodbav:"status"`
	Reason          string `dynamodbav:"reason"`
	StatusAt        string `dynamodbav:"status_at"`
	CooldownUntil   int64  `dynamodbav:"cooldown_until"` // epoch ms
	CooldownReason  string `dynamodbav:"cooldown_reason"`
	CooldownStrikes int    `dynamodbav:"cooldown_strikes"`
	CooldownVersion string `dynamodbav:"cooldown_version"`
	LoginVersion    string `dynamodbav:"login_version"`
}

// MarkReauthRequired records that account's login is gone, with the reason
// (the OAuth error code).
func (s *Store) MarkReauthRequired(ctx context.Context, account, reason string) error {
	upd := expression.Set(expression.Name("status"), expression.Value(StatusReauthRequired)).
		Set(expression.Name("reason"), expression.Value(reason)).
		Set(expression.Name("status_at"), expression.Value(s.stamp()))
	return s.updateState(ctx, "mark reauth required", account, upd)
}

// ClearReauth records that account has a working login again.
func (s *Store) ClearReauth(ctx context.Context, account string) error {
	upd := expression.Set(expression.Name("status"), expression.Value(StatusOK)).
		Set(expression.Name("status_at"), expression.Value(s.stamp())).
		Remove(expression.Name("reason"))
	return s.updateState(ctx, "clear reauth", account, upd)
}

// SetCooldown keeps account out of rotation until until, for reason (one of
// quota.Cooldown*). It replaces any earlier cooldown.
func (s *Store) SetCooldown(ctx context.Context, account string, until time.Time, reason string) error {
	upd := expression.Set(expression.Name("cooldown_until"), expression.Value(until.UnixMilli())).
		Set(expression.Name("cooldown_reason"), expression.Value(reason))
	return s.updateState(ctx, "set cooldown", account, upd)
}

// SetUnauthorized keeps account out of rotation until until because the
// upstream rejected the token of version: the strikes-th such cooldown in a
// row. It replaces any earlier cooldown.
func (s *Store) SetUnauthorized(ctx context.Context, account string, until time.Time, strikes int, version string) error {
	upd := expression.Set(expression.Name("cooldown_until"), expression.Value(until.UnixMilli())).
		Set(expression.Name("cooldown_reason"), expression.Value(quota.CooldownUnauthorized)).
		Set(expression.Name("cooldown_strikes"), expression.Value(strikes)).
		Set(expression.Name("cooldown_version"), expression.Value(version))
	return s.updateState(ctx, "set unauthorized cooldown", account, upd)
}

// ClearCooldown ends account's cooldown.
func (s *Store) ClearCooldown(ctx context.Context, account string) error {
	return s.updateState(ctx, "clear cooldown", account, removeCooldown())
}

// ClearUnauthorized ends account's cooldown if it is a 401 cooldown (the
// account served again); a cooldown for another reason stays.
func (s *Store) ClearUnauthorized(ctx context.Context, account string) error {
	cond := expression.Name("cooldown_reason").Equal(expression.Value(quota.CooldownUnauthorized))
	return s.updateStateIf(ctx, "clear unauthorized cooldown", account, &cond, removeCooldown())
}

// VersionStored implements codex.AccountStates. A refresh ends a 401
// cooldown set against another version's token; a login also ends
// reauth_required and every cooldown, and records its version so that warm
// proxy containers drop what they cached.
func (s *Store) VersionStored(ctx context.Context, account, version string, login bool) error {
	if login {
		upd := removeCooldown().
			Set(expression.Name("status"), expression.Value(StatusOK)).
			Set(expression.Name("status_at"), expression.Value(s.stamp())).
			Set(expression.Name("login_version"), expression.Value(version)).
			Remove(expression.Name("reason"))
		return s.updateState(ctx, "record login", account, upd)
	}
	cond := expression.Name("cooldown_reason").Equal(expression.Value(quota.CooldownUnauthorized)).
		And(expression.Name("cooldown_version").NotEqual(expression.Value(version)))
	return s.updateStateIf(ctx, "lift unauthorized cooldown", account, &cond, removeCooldown())
}

func removeCooldown() expression.UpdateBuilder {
	return expression.Remove(expression.Name("cooldown_until")).Remove(expression.Name("cooldown_reason")).
		Remove(expression.Name("cooldown_strikes")).Remove(expression.Name("cooldown_version"))
}

// updateState applies upd to account's state item, creating it if needed.
func (s *Store) updateState(ctx context.Context, op, account string, upd expression.UpdateBuilder) error {
	return s.updateStateIf(ctx, op, account, nil, upd)
}

// updateStateIf is updateState on condition cond (nil: none). A condition
// that does not hold is no error: there was nothing to change.
func (s *Store) updateStateIf(ctx context.Context, op, account string, cond *expression.ConditionBuilder, upd expression.UpdateBuilder) error {
	upd = upd.Set(expression.Name("account"), expression.Value(account)).
		Set(expression.Name(attrUpdated), expression.Value(s.stamp()))
	b := expression.NewBuilder().WithUpdate(upd)
	if cond != nil {
		b = b.WithCondition(*cond)
	}
	expr, err := b.Build()
	if err != nil {
		return fmt.Errorf("%s for account %q: %w", op, account, err)
	}
	err = s.updateItem(ctx, key(pkAccounts, skState+account), expr)
	if conditionFailed(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s for account %q: %w", op, account, err)
	}
	return nil
}

// Snapshot is every account's state and latest quota, by account, and the
// account registry. An account without a record is absent from the map.
type Snapshot struct {
	States map[string]AccountState
	Quotas map[string]QuotaSnapshot
	// Registered is the account registry, sorted; Backfilled says whether
	// the one-time backfill from before the registry ran (see Registry).
	Registered []string
	Backfilled bool
	// Settings are the registered accounts' routing settings; an account
	// with none set is absent (the zero AccountSettings).
	Settings map[string]AccountSettings
}

// Load reads every account state, quota snapshot and registry item with one
// (paginated) Query.
func (s *Store) Load(ctx context.Context) (Snapshot, error) {
	snap := Snapshot{States: map[string]AccountState{}, Quotas: map[string]QuotaSnapshot{}, Settings: map[string]AccountSettings{}}
	err := s.query(ctx, pkAccounts, func(sk string, item map[string]types.AttributeValue) error {
		if account, ok := strings.CutPrefix(sk, skState); ok {
			var it stateItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return fmt.Errorf("decode state of %q: %w", account, err)
			}
			st := AccountState{Account: account, Status: it.Status, Reason: it.Reason,
				StatusAt: parseTime(it.StatusAt), CooldownReason: it.CooldownReason,
				CooldownStrikes: it.CooldownStrikes, CooldownVersion: it.CooldownVersion, LoginVersion: it.LoginVersion}
			if it.CooldownUntil > 0 {
				st.CooldownUntil = time.UnixMilli(it.CooldownUntil)
			}
			snap.States[account] = st
		} else if account, ok := strings.CutPrefix(sk, skQuota); ok {
			var q QuotaSnapshot
			if err := attributevalue.UnmarshalMap(item, &q); err != nil {
				return fmt.Errorf("decode quota of %q: %w", account, err)
			}
			q.Account = account
			snap.Quotas[account] = q
		} else if account, ok := strings.CutPrefix(sk, skRegistry); ok && account != "" {
			snap.Registered = append(snap.Registered, account)
			set, err := decodeSettings(item)
			if err != nil {
				return fmt.Errorf("decode settings of %q: %w", account, err)
			}
			if set != (AccountSettings{}) {
				snap.Settings[account] = set
			}
		} else if sk == skBackfilled {
			snap.Backfilled = true
		}
		return nil
	})
	if err != nil {
		return Snapshot{}, fmt.Errorf("load account states: %w", err)
	}
	slices.Sort(snap.Registered)
	return snap, nil
}

// query calls fn for every item under partition pk.
func (s *Store) query(ctx context.Context, pk string, fn func(sk string, item map[string]types.AttributeValue) error) error {
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(pk))).Build()
	if err != nil {
		return err
	}
	pages := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range page.Items {
			sk, _ := item[attrSK].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			if err := fn(sk.Value, item); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) stamp() string { return s.now().UTC().Format(time.RFC3339Nano) }

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pk},
		attrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// updateItem applies expr (its update, and its condition if any) to the
// item at k.
func (s *Store) updateItem(ctx context.Context, k map[string]types.AttributeValue, expr expression.Expression) error {
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       k,
		ConditionExpression:       expr.Condition(),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return err
}

// conditionFailed reports whether err is a write's condition not holding.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
