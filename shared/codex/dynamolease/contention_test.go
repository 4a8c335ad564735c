package dynamolease_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/internal/testsupport"
	"github.com/codexgate/codexgate/shared/codex"
	"github.com/codexgate/codexgate/shared/codex/dynamolease"
)

// lockish is the part of a leaser the contention workload uses.
type lockish interface {
	Acquire(ctx context.Context, key, owner string, ttl time.Duration, stale *codex.LeaseHeldError) (*codex.Lease, error)
	Release(ctx context.Context, l *codex.Lease, r codex.Release) error
}

// alwaysGrant is the negative control: the same item writes as the Leaser,
// without the acquire condition.
type alwaysGrant struct {
	ddb   *dynamodb.Client
	table string
}

func (a alwaysGrant) key(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "lease#" + k},
		"sk": &types.AttributeValueMemberS{Value: "lease"},
	}
}

func (a alwaysGrant) Acquire(ctx context.Context, key, owner string, ttl time.Duration, _ *codex.LeaseHeldError) (*codex.Lease, error) {
	upd := expression.Set(expression.Name("owner"), expression.Value(owner)).
		Set(expression.Name("expires_at"), expression.Value(time.Now().Add(ttl).UnixMilli())).
		Add(expression.Name("fence"), expression.Value(1))
	expr, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return nil, err
	}
	_, err = a.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.table), Key: a.key(key),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return &codex.Lease{Key: key, Owner: owner}, err
}

func (a alwaysGrant) Release(ctx context.Context, l *codex.Lease, _ codex.Release) error {
	upd := expression.Set(expression.Name("expires_at"), expression.Value(0))
	expr, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return err
	}
	_, err = a.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(a.table), Key: a.key(l.Key),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return err
}

type result struct {
	counter  int64 // final value of the shared counter
	overlaps int64 // times a holder found another holder inside
	fences   []int64
}

// contend runs workers × cycles acquire/increment/release cycles on one key,
// after ConsistentLockDataStressTest in amazon-dynamodb-lock-client. The
// increment is a read, a pause of hold and a write: without mutual
// exclusion, increments get lost.
func contend(t *testing.T, l lockish, workers, cycles int, hold time.Duration) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var (
		counter, inside, overlaps atomic.Int64
		mu                        sync.Mutex
		fences                    []int64
		wg                        sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for c := range cycles {
				owner := fmt.Sprintf("w%d-c%d", w, c) // unique per attempt
				var lease *codex.Lease
				for {
					var err error
					lease, err = l.Acquire(ctx, "shared", owner, time.Minute, nil)
					if err == nil {
						break
					}
					if !errors.Is(err, codex.ErrLeaseHeld) {
						t.Errorf("Acquire: %v", err)
						return
					}
					time.Sleep(time.Duration(40+rand.IntN(80)) * time.Millisecond)
				}
				if inside.Add(1) != 1 {
					overlaps.Add(1)
				}
				v := counter.Load()
				time.Sleep(hold)
				counter.Store(v + 1)
				inside.Add(-1)
				mu.Lock()
				fences = append(fences, lease.Fence)
				mu.Unlock()
				if err := l.Release(ctx, lease, codex.Release{}); err != nil {
					t.Errorf("Release: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	return result{counter: counter.Load(), overlaps: overlaps.Load(), fences: fences}
}

func TestLeaser_Acquire_Contention(t *testing.T) {
	cfg := testsupport.AWSConfig(t) // the stack applies moto requests one at a time, as DynamoDB makes single-item writes atomic
	table := testsupport.NewTable(t, cfg)
	const workers, cycles = 8, 20
	got := contend(t, dynamolease.New(dynamodb.NewFromConfig(cfg), table), workers, cycles, time.Millisecond)
	if got.counter != workers*cycles || got.overlaps != 0 {
		t.Fatalf("counter = %d, overlaps = %d; want %d, 0", got.counter, got.overlaps, workers*cycles)
	}
	// Every holder saw its own fence: 1..N, each once.
	seen := map[int64]bool{}
	for _, f := range got.fences {
		if seen[f] || f < 1 || f > workers*cycles {
			t.Fatalf("fence %d repeated or out of range", f)
		}
		seen[f] = true
	}
}

// TestLeaser_Acquire_ContentionNegativeControl shows the workload detects a
// broken lease: without the condition, holders overlap and increments are lost.
func TestLeaser_Acquire_ContentionNegativeControl(t *testing.T) {
	cfg := testsupport.AWSConfig(t) // the stack applies moto requests one at a time, as DynamoDB makes single-item writes atomic
	table := testsupport.NewTable(t, cfg)
	const workers, cycles = 8, 5
	got := contend(t, alwaysGrant{ddb: dynamodb.NewFromConfig(cfg), table: table}, workers, cycles, 20*time.Millisecond)
	if got.overlaps == 0 && got.counter == workers*cycles {
		t.Fatalf("no overlap and no lost increment without the lease condition: the workload proves nothing")
	}
	t.Logf("without the condition: counter %d of %d, %d overlaps", got.counter, workers*cycles, got.overlaps)
}
