package statestore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"
)

// Per-key usage counters: one item per day, key, account and model, so each
// request is one UpdateItem with ADD (atomic across every container). The
// partition is the day and the key (usage#<day>#<quoted key>), so no
// partition takes more than one key's writes and a key's day is one Query.
// Counters written before the sharding (partition usage#<day>, every key
// of a day together) are still read by Usage until their TTL removes them.
const (
	pkUsagePrefix = "usage#" // + day (YYYY-MM-DD, UTC) + "#" + Go-quoted key
	attrTTL       = "ttl"
	// DefaultUsageRetention is how long usage items live before DynamoDB's
	// TTL removes them.
	DefaultUsageRetention = 90 * 24 * time.Hour
	// usageDayLayout is the day of a usage item, in UTC.
	usageDayLayout = time.DateOnly
)

// UsageDelta is one request's usage, as the upstream reported it in its
// final event.
type UsageDelta struct {
	Key     string // the client key's name
	Account string
	Model   string
	// Token counts; Requests is 1 for a request.
	Requests        int64
	InputTokens     int64
	CachedTokens    int64
	OutputTokens    int64
	ReasoningTokens int64
}

// UsageRow is one stored counter: a day's totals for one key, account and
// model.
type UsageRow struct {
	Day             string `dynamodbav:"day" json:"day"`
	Key             string `dynamodbav:"key" json:"key"`
	Account         string `dynamodbav:"account" json:"account"`
	Model           string `dynamodbav:"model" json:"model"`
	Requests        int64  `dynamodbav:"requests" json:"requests"`
	InputTokens     int64  `dynamodbav:"input_tokens" json:"input_tokens"`
	CachedTokens    int64  `dynamodbav:"cached_input_tokens" json:"cached_input_tokens"`
	OutputTokens    int64  `dynamodbav:"output_tokens" json:"output_tokens"`
	ReasoningTokens int64  `dynamodbav:"reasoning_tokens" json:"reasoning_tokens"`
}

// UsageDay returns the day (UTC) a request at t counts for.
func UsageDay(t time.Time) string { return t.UTC().Format(usageDayLayout) }

// usagePK is the partition of key's counters of day.
func usagePK(day, key string) string { return pkUsagePrefix + day + "#" + strconv.Quote(key) }

// legacyUsagePK is the partition every key's counters of day shared before
// the counters were sharded by key.
func legacyUsagePK(day string) string { return pkUsagePrefix + day }

// usageSK names one counter item. The names are quoted so that no choice
// of names makes two counters collide.
func usageSK(key, account, model string) string {
	return usageKeyPrefix(key) + strconv.Quote(account) + "|" + strconv.Quote(model)
}

// usageKeyPrefix begins the sort key of every counter of key, and of no
// other key's: the quoted name ends with a quote no other quoted name has
// there.
func usageKeyPrefix(key string) string { return strconv.Quote(key) + "|" }

// AddUsage adds d to the day's counter of its key, account and model at
// now, in one atomic UpdateItem, and sets the item to expire retention
// after the end of that day (DefaultUsageRetention when retention <= 0).
func (s *Store) AddUsage(ctx context.Context, now time.Time, d UsageDelta, retention time.Duration) error {
	if retention <= 0 {
		retention = DefaultUsageRetention
	}
	day := UsageDay(now)
	dayStart, _ := time.Parse(usageDayLayout, day) // just formatted: cannot fail
	ttl := dayStart.Add(24 * time.Hour).Add(retention).Unix()
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key:       key(usagePK(day, d.Key), usageSK(d.Key, d.Account, d.Model)),
		UpdateExpression: aws.String("SET #day = :day, #key = :key, #account = :account, #model = :model, #ttl = :ttl " +
			"ADD #requests :requests, #in :in, #cached :cached, #out :out, #reasoning :reasoning"),
		ExpressionAttributeNames: map[string]string{
			"#day": "day", "#key": "key", "#account": "account", "#model": "model", "#ttl": attrTTL,
			"#requests": "requests", "#in": "input_tokens", "#cached": "cached_input_tokens",
			"#out": "output_tokens", "#reasoning": "reasoning_tokens",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":day": str(day), ":key": str(d.Key), ":account": str(d.Account), ":model": str(d.Model), ":ttl": n(ttl),
			":requests": n(d.Requests), ":in": n(d.InputTokens), ":cached": n(d.CachedTokens),
			":out": n(d.OutputTokens), ":reasoning": n(d.ReasoningTokens),
		},
	})
	if err != nil {
		return fmt.Errorf("add usage of key %q on %s: %w", d.Key, day, err)
	}
	return nil
}

// usageReaders is how many of Usage's Queries run at once.
const usageReaders = 8

// Usage returns the counters of the days from..to (inclusive, UTC) of
// every key the table lists (revoked ones included), sorted by day, key,
// account and model: one Query per key and day, plus one per day for the
// counters written before the sharding (usage#<day>) that TTL has not yet
// removed.
func (s *Store) Usage(ctx context.Context, from, to time.Time) ([]UsageRow, error) {
	keys, err := s.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("read usage: %w", err)
	}
	seen := map[string]bool{}
	var names []string
	for _, k := range keys {
		if !seen[k.Name] {
			seen[k.Name] = true
			names = append(names, k.Name)
		}
	}
	return s.usageOf(ctx, names, from, to)
}

// usageOf reads the counters of names on the days from..to, and the
// pre-sharding partitions of those days.
func (s *Store) usageOf(ctx context.Context, names []string, from, to time.Time) ([]UsageRow, error) {
	first, _ := time.Parse(usageDayLayout, UsageDay(from))
	last, _ := time.Parse(usageDayLayout, UsageDay(to))
	var pks []string
	for d := first; !d.After(last); d = d.Add(24 * time.Hour) {
		day := UsageDay(d)
		pks = append(pks, legacyUsagePK(day))
		for _, n := range names {
			pks = append(pks, usagePK(day, n))
		}
	}
	var (
		mu   sync.Mutex
		rows []UsageRow
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(usageReaders)
	for _, pk := range pks {
		g.Go(func() error {
			var part []UsageRow
			if err := s.query(gctx, pk, func(_ string, item map[string]types.AttributeValue) error {
				var r UsageRow
				if err := attributevalue.UnmarshalMap(item, &r); err != nil {
					return err
				}
				part = append(part, r)
				return nil
			}); err != nil {
				return fmt.Errorf("read usage %s: %w", pk, err)
			}
			mu.Lock()
			rows = append(rows, part...)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		return strings.Join([]string{a.Day, a.Key, a.Account, a.Model}, "\x00") < strings.Join([]string{b.Day, b.Key, b.Account, b.Model}, "\x00")
	})
	return rows, nil
}
