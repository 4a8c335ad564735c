package awsfault_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/codexgate/codexgate/internal/awsfault"
)

// fakeAWS answers every call with an empty JSON object and records the
// targets it saw.
type fakeAWS struct {
	mu   sync.Mutex
	seen []string
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, r.Header.Get("X-Amz-Target"))
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	_, _ = w.Write([]byte("{}"))
}

func (f *fakeAWS) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

func setup(t *testing.T, retries bool) (*awsfault.Transport, *fakeAWS, *dynamodb.Client, *secretsmanager.Client) {
	t.Helper()
	fake := &fakeAWS{}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	ft := awsfault.New(nil)
	cfg := ft.Wrap(aws.Config{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if retries {
		cfg.RetryMaxAttempts = 3 // the SDK's default differs per service
	} else {
		cfg = awsfault.NoRetries(cfg)
	}
	return ft, fake, dynamodb.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
}

func getItem(ctx context.Context, c *dynamodb.Client) error {
	_, err := c.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String("t"),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
	})
	return err
}

func updateItem(ctx context.Context, c *dynamodb.Client) error {
	_, err := c.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String("t"),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}},
	})
	return err
}

func TestTransport_Counts_PerOperation(t *testing.T) {
	ft, fake, ddb, sm := setup(t, true)
	ctx := context.Background()
	for range 2 {
		if err := getItem(ctx, ddb); err != nil {
			t.Fatal(err)
		}
	}
	if err := updateItem(ctx, ddb); err != nil {
		t.Fatal(err)
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("s"), SecretString: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	got := ft.Counts()
	want := map[string]int{"GetItem": 2, "UpdateItem": 1, "PutSecretValue": 1}
	for op, n := range want {
		if got[op] != n {
			t.Errorf("Counts()[%s] = %d, want %d (all: %v)", op, got[op], n, got)
		}
	}
	if ft.Total() != 4 || fake.count() != 4 {
		t.Errorf("Total() = %d, server saw %d, want 4", ft.Total(), fake.count())
	}
	ft.Reset()
	if ft.Total() != 0 || len(ft.Counts()) != 0 {
		t.Errorf("after Reset: Total() = %d, Counts() = %v", ft.Total(), ft.Counts())
	}
}

func TestTransport_RoundTrip_Faults(t *testing.T) {
	tests := []struct {
		name       string
		fault      awsfault.Fault
		retries    bool
		wantErr    bool
		wantServer int // calls that reached the server
		wantCount  int // calls the transport counted
		check      func(t *testing.T, err error)
	}{
		{
			name:       "RefuseNotSent",
			fault:      awsfault.Fault{Action: awsfault.Refuse, Times: 1},
			wantErr:    true,
			wantServer: 0, wantCount: 1,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, awsfault.ErrInjected) {
					t.Errorf("err = %v, want ErrInjected", err)
				}
			},
		},
		{
			name:       "DropAfterSending",
			fault:      awsfault.Fault{Action: awsfault.Drop, Times: 1},
			wantErr:    true,
			wantServer: 1, wantCount: 1,
		},
		{
			name:       "RefuseOnceRetriedBySDK",
			fault:      awsfault.Fault{Action: awsfault.Refuse, Times: 1},
			retries:    true,
			wantServer: 1, wantCount: 2,
		},
		{
			name: "RespondConditionFailed",
			fault: awsfault.Fault{Action: awsfault.Respond, Times: 1, Status: 400,
				Body: awsfault.ErrorBody("ConditionalCheckFailedException", "The conditional request failed")},
			wantErr:    true,
			wantServer: 0, wantCount: 1,
			check: func(t *testing.T, err error) {
				var ccf *types.ConditionalCheckFailedException
				if !errors.As(err, &ccf) {
					t.Errorf("err = %v, want *ConditionalCheckFailedException", err)
				}
			},
		},
		{
			name:       "Respond500RetriedBySDK",
			fault:      awsfault.Fault{Action: awsfault.Respond, Times: 2, Status: 500, Body: awsfault.ErrorBody("InternalServerError", "boom")},
			retries:    true,
			wantServer: 1, wantCount: 3,
		},
		{
			name:       "UntilClearedFailsEveryRetry",
			fault:      awsfault.Fault{Action: awsfault.Refuse},
			retries:    true,
			wantErr:    true,
			wantServer: 0, wantCount: 3, // RetryMaxAttempts
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ft, fake, ddb, _ := setup(t, tt.retries)
			ft.Inject("UpdateItem", tt.fault)
			err := updateItem(context.Background(), ddb)
			if (err != nil) != tt.wantErr {
				t.Fatalf("UpdateItem err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if fake.count() != tt.wantServer {
				t.Errorf("server saw %d calls, want %d", fake.count(), tt.wantServer)
			}
			if n := ft.Count("UpdateItem"); n != tt.wantCount {
				t.Errorf("Count(UpdateItem) = %d, want %d", n, tt.wantCount)
			}
			// Other operations are untouched.
			if err := getItem(context.Background(), ddb); err != nil {
				t.Errorf("GetItem with a fault on UpdateItem: %v", err)
			}
		})
	}
}

func TestTransport_Inject_QueueAndClear(t *testing.T) {
	ft, fake, ddb, _ := setup(t, false)
	ctx := context.Background()
	ft.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Refuse, Times: 1})
	ft.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Drop, Times: 1})
	if err := updateItem(ctx, ddb); err == nil || fake.count() != 0 {
		t.Fatalf("first call: err = %v, server saw %d; want refused", err, fake.count())
	}
	if err := updateItem(ctx, ddb); err == nil || fake.count() != 1 {
		t.Fatalf("second call: err = %v, server saw %d; want dropped", err, fake.count())
	}
	if err := updateItem(ctx, ddb); err != nil {
		t.Fatalf("third call: %v, want the faults used up", err)
	}
	ft.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Refuse})
	for range 3 {
		if err := updateItem(ctx, ddb); err == nil {
			t.Fatal("want every call refused until Clear")
		}
	}
	ft.Clear("UpdateItem")
	if err := updateItem(ctx, ddb); err != nil {
		t.Fatalf("after Clear: %v", err)
	}
	ft.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Refuse})
	ft.ClearAll()
	if err := updateItem(ctx, ddb); err != nil {
		t.Fatalf("after ClearAll: %v", err)
	}
}

func TestTransport_RoundTrip_DelayAndHook(t *testing.T) {
	ft, fake, ddb, _ := setup(t, false)
	var hooked atomic.Value
	ft.Inject("GetItem", awsfault.Fault{Times: 1, Delay: 50 * time.Millisecond, Hook: func(op string) { hooked.Store(op) }})
	start := time.Now()
	if err := getItem(context.Background(), ddb); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("call took %v, want ≥ 50ms", d)
	}
	if got, _ := hooked.Load().(string); got != "GetItem" {
		t.Errorf("hook got %q, want GetItem", got)
	}
	if fake.count() != 1 {
		t.Errorf("server saw %d, want 1 (Pass sends)", fake.count())
	}

	ft.Inject("GetItem", awsfault.Fault{Times: 1, Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := getItem(ctx, ddb); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("delayed past deadline: err = %v, want DeadlineExceeded", err)
	}
}

func TestTransport_RoundTrip_Concurrent(t *testing.T) {
	ft, fake, ddb, _ := setup(t, false)
	ft.Inject("UpdateItem", awsfault.Fault{Action: awsfault.Refuse, Times: 10})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if updateItem(context.Background(), ddb) != nil {
					failed.Add(1)
				}
				_ = ft.Counts()
			}
		})
	}
	wg.Wait()
	if failed.Load() != 10 || fake.count() != 30 || ft.Total() != 40 {
		t.Errorf("failed %d (want 10), server %d (want 30), total %d (want 40)", failed.Load(), fake.count(), ft.Total())
	}
}
