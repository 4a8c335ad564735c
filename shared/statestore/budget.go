package statestore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// SetKeyBudget sets the daily token budget (input + output tokens per UTC
// day) of the active key named name; 0 removes it. ErrKeyNotFound when no
// active key has the name.
func (s *Store) SetKeyBudget(ctx context.Context, name string, dailyTokens int64) error {
	if dailyTokens < 0 {
		return fmt.Errorf("set budget of API key %q: negative budget %d", name, dailyTokens)
	}
	items, err := s.keyItems(ctx)
	if err != nil {
		return fmt.Errorf("set budget of API key %q: %w", name, err)
	}
	found := false
	for _, it := range items {
		if it.Name != name || it.Revoked {
			continue
		}
		found = true
		in := &dynamodb.UpdateItemInput{
			TableName:                aws.String(s.table),
			Key:                      key(pkAPIKeys, it.Hash),
			ConditionExpression:      aws.String("attribute_exists(#pk)"),
			UpdateExpression:         aws.String("REMOVE #daily"),
			ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#daily": "daily_tokens"},
		}
		if dailyTokens > 0 {
			in.UpdateExpression = aws.String("SET #daily = :daily")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":daily": &types.AttributeValueMemberN{Value: fmt.Sprint(dailyTokens)}}
		}
		if _, err := s.client.UpdateItem(ctx, in); err != nil {
			return fmt.Errorf("set budget of API key %q: %w", name, err)
		}
	}
	if !found {
		return fmt.Errorf("set budget of API key %q: %w", name, ErrKeyNotFound)
	}
	return nil
}

// KeyTokensOn returns the input + output tokens counted for the key named
// name on now's UTC day, across accounts and models: one Query of the
// day's counters.
func (s *Store) KeyTokensOn(ctx context.Context, name string, now time.Time) (int64, error) {
	day := UsageDay(now)
	p := dynamodb.NewQueryPaginator(s.client, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk"),
		FilterExpression:         aws.String("#key = :key"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#key": "key"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: pkUsagePrefix + day}, ":key": &types.AttributeValueMemberS{Value: name},
		},
	})
	var used int64
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("read usage of API key %q on %s: %w", name, day, err)
		}
		var rows []UsageRow
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &rows); err != nil {
			return 0, fmt.Errorf("read usage of API key %q on %s: %w", name, day, err)
		}
		for _, r := range rows {
			used += r.InputTokens + r.OutputTokens
		}
	}
	return used, nil
}
