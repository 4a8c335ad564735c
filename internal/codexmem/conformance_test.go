package codexmem_test

import (
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/codexmem"
	"github.com/codexgate/codexgate/internal/conformance"
	"github.com/codexgate/codexgate/shared/codex"
)

// The in-memory fakes keep the contract the AWS adapters keep (their own
// tests run the same suite against the local stack).
func TestLeaser_Conformance(t *testing.T) {
	conformance.Leaser(t, func(*testing.T) codex.Leaser { return codexmem.NewLeaser(time.Now) })
}

func TestStore_Conformance(t *testing.T) {
	conformance.TokenStore(t, func(*testing.T) conformance.StoreEnv {
		s := codexmem.NewStore()
		return conformance.StoreEnv{Store: s, PutRaw: func(_ *testing.T, account string, doc []byte) string { return s.SeedRaw(account, doc) }}
	})
}
