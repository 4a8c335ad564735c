package statestore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
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
)

// KeyPrefix starts every codexgate client API key.
const KeyPrefix = "cgk_"

var (
	// ErrKeyNotFound means an API key is unknown or revoked, or (RevokeKey)
	// no active key has the name.
	ErrKeyNotFound = errors.New("API key not found")
	// ErrKeyExists means an active API key already has the name.
	ErrKeyExists = errors.New("an active API key with this name exists")
)

// APIKey describes a client API key. The key itself is never stored.
type APIKey struct {
	Name      string
	Prefix    string // the key's first 8 characters, to tell keys apart in listings
	CreatedAt time.Time
	Revoked   bool
	RevokedAt time.Time
	// DailyTokens and WeeklyTokens are the key's budgets of input + output
	// tokens per UTC day and per ISO week (budget.go); 0: none.
	DailyTokens  int64
	WeeklyTokens int64
	// Models, Accounts and MaxConcurrent are the key's routing controls
	// (keyctl.go); empty or 0: none.
	Models        []string
	Accounts      []string
	MaxConcurrent int
	// Admin marks an operator key: it reads the status (/v1/admin/status)
	// and is no client key (the proxy refuses it).
	Admin bool
}

// keyItem is an API key item as stored.
type keyItem struct {
	Hash      string `dynamodbav:"sk"` // SHA-256 hex of the key
	Name      string `dynamodbav:"name"`
	Prefix    string `dynamodbav:"prefix"`
	CreatedAt string `dynamodbav:"created_at"`
	Revoked   bool   `dynamodbav:"revoked"`
	RevokedAt string `dynamodbav:"revoked_at,omitempty"`
	// DailyTokens, WeeklyTokens: budget.go.
	DailyTokens  int64 `dynamodbav:"daily_tokens,omitempty"`
	WeeklyTokens int64 `dynamodbav:"weekly_tokens,omitempty"`
	// Models, Accounts, MaxConcurrent: keyctl.go.
	Models        []string `dynamodbav:"models,omitempty"`
	Accounts      []string `dynamodbav:"accounts,omitempty"`
	MaxConcurrent int      `dynamodbav:"max_concurrent,omitempty"`
	Admin         bool     `dynamodbav:"admin,omitempty"`
}

func (it keyItem) key() APIKey {
	return APIKey{Name: it.Name, Prefix: it.Prefix, CreatedAt: parseTime(it.CreatedAt),
		Revoked: it.Revoked, RevokedAt: parseTime(it.RevokedAt), DailyTokens: it.DailyTokens, WeeklyTokens: it.WeeklyTokens,
		Models: it.Models, Accounts: it.Accounts, MaxConcurrent: it.MaxConcurrent, Admin: it.Admin}
}

// CreateKey makes a new API key named name and returns it in plaintext, once:
// only its SHA-256 digest is stored. A name already used by an active key is
// ErrKeyExists. (The check and the write are two calls; two concurrent
// creates of one name can both succeed. Keys are made by an operator.)
func (s *Store) CreateKey(ctx context.Context, name string) (string, APIKey, error) {
	return s.createKey(ctx, name, false)
}

// CreateAdminKey is CreateKey for an operator key (APIKey.Admin).
func (s *Store) CreateAdminKey(ctx context.Context, name string) (string, APIKey, error) {
	return s.createKey(ctx, name, true)
}

func (s *Store) createKey(ctx context.Context, name string, admin bool) (string, APIKey, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", APIKey{}, errors.New("create API key: name is empty")
	}
	items, err := s.keyItems(ctx)
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create API key %q: %w", name, err)
	}
	for _, it := range items {
		if it.Name == name && !it.Revoked {
			return "", APIKey{}, fmt.Errorf("create API key %q: %w", name, ErrKeyExists)
		}
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go ≥ 1.24)
	plaintext := KeyPrefix + base64.RawURLEncoding.EncodeToString(secret)
	it := keyItem{Hash: hashKey(plaintext), Name: name, Prefix: plaintext[:8], CreatedAt: s.stamp(), Admin: admin}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create API key %q: %w", name, err)
	}
	item[attrPK] = &types.AttributeValueMemberS{Value: pkAPIKeys}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(attrPK))).Build()
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create API key %q: %w", name, err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     item,
		ConditionExpression:      expr.Condition(),
		ExpressionAttributeNames: expr.Names(),
	})
	if conditionFailed(err) && s.ownKey(ctx, it) {
		// The SDK retried a put whose answer was lost: the item under this
		// fresh random key's hash can only be our own first attempt.
		err = nil
	}
	if err != nil {
		return "", APIKey{}, fmt.Errorf("create API key %q: %w", name, err)
	}
	return plaintext, it.key(), nil
}

// ownKey reports whether the key item stored under it's hash is it.
func (s *Store) ownKey(ctx context.Context, it keyItem) bool {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pkAPIKeys, it.Hash),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		return false
	}
	var got keyItem
	return attributevalue.UnmarshalMap(out.Item, &got) == nil && got.Name == it.Name && got.Prefix == it.Prefix
}

// LookupKey returns the active key plaintext names; ErrKeyNotFound when it is
// unknown or revoked.
func (s *Store) LookupKey(ctx context.Context, plaintext string) (APIKey, error) {
	if !wellFormed(plaintext) {
		// Never issued by CreateKey: no read needed (a guessed or
		// mistyped key costs nothing).
		return APIKey{}, ErrKeyNotFound
	}
	hash := hashKey(plaintext)
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            key(pkAPIKeys, hash),
		ConsistentRead: aws.Bool(true), // a revoke takes effect at once
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	if len(out.Item) == 0 {
		return APIKey{}, ErrKeyNotFound
	}
	var it keyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return APIKey{}, fmt.Errorf("look up API key: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(it.Hash), []byte(hash)) != 1 || it.Revoked {
		return APIKey{}, ErrKeyNotFound
	}
	return it.key(), nil
}

// keySecretLen is the length of a key after KeyPrefix: 32 random bytes,
// base64url without padding.
var keySecretLen = base64.RawURLEncoding.EncodedLen(32)

// wellFormed reports whether plaintext has the shape CreateKey gives keys.
func wellFormed(plaintext string) bool {
	secret, ok := strings.CutPrefix(plaintext, KeyPrefix)
	if !ok || len(secret) != keySecretLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(secret)
	return err == nil
}

// ListKeys returns every key, revoked ones included, oldest first.
func (s *Store) ListKeys(ctx context.Context) ([]APIKey, error) {
	items, err := s.keyItems(ctx)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	keys := make([]APIKey, 0, len(items))
	for _, it := range items {
		keys = append(keys, it.key())
	}
	slices.SortStableFunc(keys, func(a, b APIKey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return keys, nil
}

// RevokeKey revokes the active key(s) named name; ErrKeyNotFound when none.
// The item stays, marked revoked, so listings show it.
func (s *Store) RevokeKey(ctx context.Context, name string) error {
	cond := expression.AttributeExists(expression.Name(attrPK)).
		And(expression.Name("revoked").Equal(expression.Value(false)))
	upd := expression.Set(expression.Name("revoked"), expression.Value(true)).
		Set(expression.Name("revoked_at"), expression.Value(s.stamp()))
	expr, err := expression.NewBuilder().WithCondition(cond).WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("revoke API key %q: %w", name, err)
	}
	// A failed condition means the key was revoked meanwhile: done.
	if err := s.updateActiveKeys(ctx, name, expr, true); err != nil {
		return fmt.Errorf("revoke API key %q: %w", name, err)
	}
	return nil
}

// updateActiveKeys applies expr to every active (not revoked) key item
// named name; ErrKeyNotFound when there is none. A failed condition is an
// error unless conditionFailedIsDone.
func (s *Store) updateActiveKeys(ctx context.Context, name string, expr expression.Expression, conditionFailedIsDone bool) error {
	items, err := s.keyItems(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, it := range items {
		if it.Name != name || it.Revoked {
			continue
		}
		found = true
		err := s.updateItem(ctx, key(pkAPIKeys, it.Hash), expr)
		if err != nil && !(conditionFailedIsDone && conditionFailed(err)) {
			return err
		}
	}
	if !found {
		return ErrKeyNotFound
	}
	return nil
}

// keyItems reads every API key item.
func (s *Store) keyItems(ctx context.Context) ([]keyItem, error) {
	var items []keyItem
	err := s.query(ctx, pkAPIKeys, func(_ string, item map[string]types.AttributeValue) error {
		var it keyItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return err
		}
		items = append(items, it)
		return nil
	})
	return items, err
}

// hashKey returns the stored form of a key: its SHA-256 digest in hex. The
// key has 256 random bits, so a plain (unsalted, fast) hash is enough.
func hashKey(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}
