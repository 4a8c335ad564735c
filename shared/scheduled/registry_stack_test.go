package scheduled

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/awsfault"
)

// TestScheduled_Moto_RegistryWithoutListSecrets: both scheduled handlers,
// wired as their functions' mains wire them (the app's account registry,
// refresher and state table), on the local stack with ListSecrets failing
// on every call: every account is polled and planned, and none of them
// calls ListSecrets.
func TestScheduled_Moto_RegistryWithoutListSecrets(t *testing.T) {
	s := newStack(t, 0)
	const n = 20
	for i := range n {
		s.addAccount(fmt.Sprintf("acct-%02d", i), 0)
	}
	faults := awsfault.New(nil)
	faults.Inject("ListSecrets", awsfault.Fault{Action: awsfault.Refuse})
	cfg := awsfault.NoRetries(faults.Wrap(s.AWS))
	a := s.App(&cfg, nil)
	ctx := context.Background()

	q := &QuotaCron{Accounts: a.Accounts, Tokens: a.Refresher, Usage: s.usage(), States: a.States, Logger: quiet}
	res, err := q.Handle(ctx, scheduledEvent(t))
	if err != nil || res.OK != n {
		t.Fatalf("quota-cron: ok %d of %d, failed %d, deferred %d, err %v", res.OK, n, res.Failed, res.Deferred, err)
	}
	k := &KeepAlive{Accounts: a.Accounts, Stored: a.Secrets, Tokens: a.Refresher, States: a.States, Window: time.Minute, Logger: quiet}
	kres, err := k.Handle(ctx, RefreshRequest{})
	if err != nil || kres.NotDue != n {
		t.Fatalf("keep-alive: not due %d of %d, failed %d, err %v", kres.NotDue, n, kres.Failed, err)
	}
	if c := faults.Count("ListSecrets"); c != 0 {
		t.Errorf("%d ListSecrets calls", c)
	}
}
