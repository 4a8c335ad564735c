package statestore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// BudgetChange is what SetKeyBudget changes: a key's budgets of input +
// output tokens per UTC day and per ISO week (Monday 00:00 UTC to the next
// Monday). A nil field is left as it is; 0 removes that budget.
type BudgetChange struct {
	Daily  *int64
	Weekly *int64
}

// SetKeyBudget changes the budgets of the active key named name.
// ErrKeyNotFound when no active key has the name.
func (s *Store) SetKeyBudget(ctx context.Context, name string, c BudgetChange) error {
	var upd expression.UpdateBuilder
	given := false
	for _, b := range []struct {
		label, attr string
		v           *int64
	}{
		{"daily", "daily_tokens", c.Daily},
		{"weekly", "weekly_tokens", c.Weekly},
	} {
		switch {
		case b.v == nil:
			continue
		case *b.v < 0:
			return fmt.Errorf("set budget of API key %q: negative %s budget %d", name, b.label, *b.v)
		case *b.v == 0:
			upd = upd.Remove(expression.Name(b.attr))
		default:
			upd = upd.Set(expression.Name(b.attr), expression.Value(*b.v))
		}
		given = true
	}
	if !given {
		return fmt.Errorf("set budget of API key %q: no budget given", name)
	}
	expr, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(attrPK))).WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("set budget of API key %q: %w", name, err)
	}
	if err := s.updateActiveKeys(ctx, name, expr, false); err != nil {
		return fmt.Errorf("set budget of API key %q: %w", name, err)
	}
	return nil
}

// KeyTokensOn returns the input + output tokens counted for the key named
// name on day's UTC day, across accounts and models: one Query of that
// key's partition of the day. Counters written before the sharding are
// not read: a budget counts from the upgrade on.
func (s *Store) KeyTokensOn(ctx context.Context, name string, day time.Time) (int64, error) {
	d := UsageDay(day)
	expr, err := expression.NewBuilder().WithKeyCondition(expression.Key(attrPK).Equal(expression.Value(usagePK(d, name)))).Build()
	if err != nil {
		return 0, fmt.Errorf("read usage of API key %q on %s: %w", name, d, err)
	}
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var used int64
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("read usage of API key %q on %s: %w", name, d, err)
		}
		var rows []UsageRow
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &rows); err != nil {
			return 0, fmt.Errorf("read usage of API key %q on %s: %w", name, d, err)
		}
		for _, r := range rows {
			used += r.InputTokens + r.OutputTokens
		}
	}
	return used, nil
}
