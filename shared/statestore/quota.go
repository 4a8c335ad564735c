package statestore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/shared/quota"
)

// QuotaSnapshot is an account's latest usage reading, as stored: the
// reading itself is quota.Snapshot, the one shape the usage client parses
// and the proxy's pool routes by.
type QuotaSnapshot struct {
	Account string `dynamodbav:"account"`
	quota.Snapshot
}

// PutQuota stores q as q.Account's latest quota snapshot, replacing the
// previous one.
func (s *Store) PutQuota(ctx context.Context, q QuotaSnapshot) error {
	if q.Account == "" {
		return fmt.Errorf("put quota: account is empty")
	}
	item, err := attributevalue.MarshalMap(q)
	if err != nil {
		return fmt.Errorf("put quota for account %q: %w", q.Account, err)
	}
	for k, v := range key(pkAccounts, skQuota+q.Account) {
		item[k] = v
	}
	item[attrUpdated] = &types.AttributeValueMemberS{Value: s.stamp()}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item})
	if err != nil {
		return fmt.Errorf("put quota for account %q: %w", q.Account, err)
	}
	return nil
}
