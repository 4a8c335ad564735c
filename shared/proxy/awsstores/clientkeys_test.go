package awsstores

import (
	"context"
	"errors"
	"testing"

	"github.com/codexgate/codexgate/shared/proxy"
	"github.com/codexgate/codexgate/shared/statestore"
)

// TestClientKeys_AdminKeyIsNoClientKey: behind ClientKeys, every way Keys
// verifies a key refuses an admin key as unknown; client keys and store
// errors pass through.
func TestClientKeys_AdminKeyIsNoClientKey(t *testing.T) {
	k := Keys{Store: ClientKeys{Store: fakeLookup{"cgk_ops": {Name: "ops", Admin: true}, "cgk_good": {Name: "laptop", DailyTokens: 9}}}}
	ctx := context.Background()
	if _, err := k.VerifyKey(ctx, "cgk_ops"); !errors.Is(err, proxy.ErrInvalidKey) {
		t.Errorf("VerifyKey(admin) = %v, want ErrInvalidKey", err)
	}
	if _, err := k.VerifyKeyInfo(ctx, "cgk_ops"); !errors.Is(err, proxy.ErrInvalidKey) {
		t.Errorf("VerifyKeyInfo(admin) = %v, want ErrInvalidKey", err)
	}
	if info, err := k.VerifyKeyInfo(ctx, "cgk_good"); err != nil || info.Name != "laptop" || info.Budget.Daily != 9 {
		t.Errorf("VerifyKeyInfo(client) = %+v %v", info, err)
	}
	if _, err := (ClientKeys{Store: fakeLookup{}}).LookupKey(ctx, "cgk_broken"); err == nil || errors.Is(err, statestore.ErrKeyNotFound) {
		t.Errorf("a store error became %v", err)
	}
}
