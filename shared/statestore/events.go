package statestore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/metering"
)

// Refresh-protocol event kinds (codex.Events), as stored and shown.
const (
	EventReauthRequired        = "reauth_required"
	EventRotatedTokenNotStored = "rotated_token_not_stored"
	EventLeaseOutlived         = "lease_outlived"
)

const (
	pkEvents = "events"
	// DefaultEventRetention is how long an event item lives before
	// DynamoDB's TTL removes it.
	DefaultEventRetention = 14 * 24 * time.Hour
	// eventTimeLayout is fixed-width, so that sort keys sort by time.
	eventTimeLayout = "2006-01-02T15:04:05.000000000Z"
	// maxEventReason bounds the stored reason (an OAuth error code).
	maxEventReason = 200
)

// Event is one refresh-protocol event an operator must hear about. It
// holds no token: an account name, a kind and the OAuth error code.
type Event struct {
	At      time.Time `json:"at"`
	Account string    `json:"account"`
	Kind    string    `json:"kind"`
	Reason  string    `json:"reason,omitempty"`
}

type eventItem struct {
	At      string `dynamodbav:"at"`
	Account string `dynamodbav:"account"`
	Kind    string `dynamodbav:"kind"`
	Reason  string `dynamodbav:"reason,omitempty"`
}

// RecordEvent stores e (At: now when zero), removed by TTL after retention.
func (s *Store) RecordEvent(ctx context.Context, e Event, retention time.Duration) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	if len(e.Reason) > maxEventReason {
		e.Reason = e.Reason[:maxEventReason]
	}
	at := e.At.UTC().Format(eventTimeLayout)
	// UpdateItem, not PutItem: the proxy's role may only update items, on
	// the partitions it writes (template.yaml).
	upd := expression.Set(expression.Name("at"), expression.Value(at)).
		Set(expression.Name("account"), expression.Value(e.Account)).
		Set(expression.Name("kind"), expression.Value(e.Kind)).
		Set(expression.Name(attrTTL), expression.Value(e.At.Add(retention).Unix()))
	if e.Reason != "" {
		upd = upd.Set(expression.Name("reason"), expression.Value(e.Reason))
	}
	expr, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("record event: %w", err)
	}
	// Time first (newest last), then what tells two events of one instant apart.
	sk := at + "#" + e.Kind + "#" + strconv.Quote(e.Account)
	if err := s.updateItem(ctx, key(pkEvents, sk), expr); err != nil {
		return fmt.Errorf("record event %s of %q: %w", e.Kind, e.Account, err)
	}
	return nil
}

// RecentEvents returns up to n events, newest first, with one Query.
func (s *Store) RecentEvents(ctx context.Context, n int) ([]Event, error) {
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: pkEvents}},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(n)),
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	events := make([]Event, 0, len(out.Items))
	for _, item := range out.Items {
		var it eventItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, fmt.Errorf("decode event: %w", err)
		}
		at, _ := time.Parse(eventTimeLayout, it.At)
		events = append(events, Event{At: at, Account: it.Account, Kind: it.Kind, Reason: it.Reason})
	}
	return events, nil
}

// EventLog records the refresh routine's events (codex.Events) in the
// table, best effort: each write runs in its own goroutine, bounded by
// Timeout, so it never delays or fails a refresh; a failed write is logged.
// A process about to end (or a Lambda invocation about to be frozen) calls
// Wait so that the writes in flight land.
type EventLog struct {
	Store     *Store
	Retention time.Duration // default DefaultEventRetention
	Timeout   time.Duration // default 3 s
	Logger    *slog.Logger  // nil: slog.Default()

	writes sync.WaitGroup
}

var _ codex.Events = (*EventLog)(nil)

// Wait waits for the writes in flight, or until ctx ends.
func (l *EventLog) Wait(ctx context.Context) error {
	return metering.WaitGroup(ctx, &l.writes)
}

// RotatedTokenNotStored records EventRotatedTokenNotStored.
func (l *EventLog) RotatedTokenNotStored(account string) {
	l.record(Event{Account: account, Kind: EventRotatedTokenNotStored})
}

// LeaseOutlived records EventLeaseOutlived.
func (l *EventLog) LeaseOutlived(account string) {
	l.record(Event{Account: account, Kind: EventLeaseOutlived})
}

// ReauthRequired records EventReauthRequired with the reason.
func (l *EventLog) ReauthRequired(account, reason string) {
	l.record(Event{Account: account, Kind: EventReauthRequired, Reason: reason})
}

func (l *EventLog) record(e Event) {
	if l.Store == nil {
		return
	}
	e.At = l.Store.now()
	retention, timeout := l.Retention, l.Timeout
	if retention <= 0 {
		retention = DefaultEventRetention
	}
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	l.writes.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := l.Store.RecordEvent(ctx, e, retention); err != nil {
			log := l.Logger
			if log == nil {
				log = slog.Default()
			}
			log.Warn("record refresh event", slog.String("account", e.Account), slog.String("kind", e.Kind),
				slog.String("error", err.Error()))
		}
	})
}
