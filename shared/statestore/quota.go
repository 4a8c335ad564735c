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

// Window kinds, classified by the window's length (docs/DESIGN.md §6.5: 18000 s ≈
// 5 h, 604800 s = a week), never by its position in the usage answer. The
// same values as package usage's Kind5h, KindWeekly and KindOther.
const (
	WindowFiveHour = "5h"
	WindowWeekly   = "weekly"
	WindowOther    = "other"
)

// Window is one usage window of a quota snapshot.
type Window struct {
	Kind          string    `dynamodbav:"kind"` // WindowFiveHour, WindowWeekly or WindowOther
	UsedPercent   float64   `dynamodbav:"used_percent"`
	WindowSeconds int64     `dynamodbav:"window_seconds"`
	ResetAt       time.Time `dynamodbav:"reset_at"` // zero when unknown
}

// Credits is an account's credit balance, as far as the usage endpoint
// reports it.
type Credits struct {
	HasCredits bool   `dynamodbav:"has_credits"`
	Unlimited  bool   `dynamodbav:"unlimited"`
	Balance    string `dynamodbav:"balance"` // decimal text
}

// QuotaSnapshot is an account's latest usage reading.
type QuotaSnapshot struct {
	Account      string    `dynamodbav:"account"`
	Plan         string    `dynamodbav:"plan"`
	Allowed      bool      `dynamodbav:"allowed"`
	LimitReached bool      `dynamodbav:"limit_reached"`
	Windows      []Window  `dynamodbav:"windows"`
	Credits      Credits   `dynamodbav:"credits"`
	FetchedAt    time.Time `dynamodbav:"fetched_at"`
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
