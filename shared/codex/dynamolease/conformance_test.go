package dynamolease_test

import (
	"testing"

	"github.com/codexgate/codexgate/internal/conformance"
	"github.com/codexgate/codexgate/shared/codex"
)

// The DynamoDB leaser keeps the contract the in-memory fake is held to.
func TestLeaser_Conformance(t *testing.T) {
	conformance.Leaser(t, func(t *testing.T) codex.Leaser { return setup(t).leaser })
}
