package statestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AccountSettings are an operator's routing settings of one account. They
// live on the account's registry item: Load already reads it on every
// proxy pool reload (no extra call), Register only touches its timestamp
// (a re-import keeps them) and Deregister deletes them with the account.
// The zero value is an active account of priority 0.
type AccountSettings struct {
	Paused   bool // serves nothing; still refreshed and quota-polled
	PausedAt time.Time
	// Priority orders accounts before the routing strategy does: higher
	// first. Default 0; negative values are allowed (last resort).
	Priority int
}

// settingsItem is the settings part of a registry item as stored.
type settingsItem struct {
	Paused   bool   `dynamodbav:"paused"`
	PausedAt string `dynamodbav:"paused_at"`
	Priority int    `dynamodbav:"priority"`
}

// ErrNotRegistered is returned by the settings writes for an account that
// is not in the registry: nothing was written.
var ErrNotRegistered = errors.New("account is not registered")

// SetPaused pauses (or resumes) account: every proxy stops (or starts
// again) routing to it at its next account-list reload.
func (s *Store) SetPaused(ctx context.Context, account string, paused bool) error {
	upd := expression.Set(expression.Name("paused"), expression.Value(paused))
	if paused {
		upd = upd.Set(expression.Name("paused_at"), expression.Value(s.stamp()))
	} else {
		upd = upd.Remove(expression.Name("paused_at"))
	}
	op := "resume"
	if paused {
		op = "pause"
	}
	return s.updateSettings(ctx, op, account, upd)
}

// SetPriority sets account's routing priority (higher first).
func (s *Store) SetPriority(ctx context.Context, account string, priority int) error {
	return s.updateSettings(ctx, "set priority of", account, expression.Set(expression.Name("priority"), expression.Value(priority)))
}

// updateSettings applies upd to account's registry item, only if it
// exists: the condition makes "unknown account writes nothing" atomic with
// a concurrent `accounts remove`. Only the settings' own attributes and
// updated_at are written, so no other writer's field is raced.
func (s *Store) updateSettings(ctx context.Context, op, account string, upd expression.UpdateBuilder) error {
	upd = upd.Set(expression.Name(attrUpdated), expression.Value(s.stamp()))
	expr, err := expression.NewBuilder().WithUpdate(upd).
		WithCondition(expression.AttributeExists(expression.Name(attrSK))).Build()
	if err != nil {
		return fmt.Errorf("%s account %q: %w", op, account, err)
	}
	err = s.updateItem(ctx, key(pkAccounts, skRegistry+account), expr)
	if conditionFailed(err) {
		return fmt.Errorf("%s account %q: %w", op, account, ErrNotRegistered)
	}
	if err != nil {
		return fmt.Errorf("%s account %q: %w", op, account, err)
	}
	return nil
}

// decodeSettings reads the settings of a registry item.
func decodeSettings(item map[string]types.AttributeValue) (AccountSettings, error) {
	var it settingsItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return AccountSettings{}, err
	}
	return AccountSettings{Paused: it.Paused, PausedAt: parseTime(it.PausedAt), Priority: it.Priority}, nil
}
