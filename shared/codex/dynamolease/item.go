package dynamolease

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/codexgate/codexgate/shared/codex"
)

// Attribute names of a lease item (see doc.go for the layout).
const (
	attrPK             = "pk"
	attrSK             = "sk"
	attrOwner          = "owner"
	attrFence          = "fence"
	attrExpiresAt      = "expires_at"
	attrBeat           = "beat"
	attrTTL            = "ttl_ms"
	attrBudgetTokens   = "budget_tokens"
	attrBudgetAt       = "budget_at"
	attrPendingAccount = "pending_account"
	attrPendingVersion = "pending_version"
	attrPendingBase    = "pending_base"
	attrCurrent        = "current"
	attrLastRefresh    = "last_refresh"
	attrReauth         = "reauth"

	pkPrefix = "lease#"
	skLease  = "lease"
)

// leaseItem is a lease item as stored.
type leaseItem struct {
	Owner          string                `dynamodbav:"owner"`
	Fence          int64                 `dynamodbav:"fence"`
	ExpiresAt      int64                 `dynamodbav:"expires_at"`
	Beat           int64                 `dynamodbav:"beat"`
	TTL            int64                 `dynamodbav:"ttl_ms"`
	BudgetTokens   float64               `dynamodbav:"budget_tokens"`
	BudgetAt       int64                 `dynamodbav:"budget_at"`
	PendingAccount string                `dynamodbav:"pending_account"`
	PendingVersion string                `dynamodbav:"pending_version"`
	PendingBase    string                `dynamodbav:"pending_base"`
	Current        map[string]string     `dynamodbav:"current"`
	LastRefresh    string                `dynamodbav:"last_refresh"`
	Reauth         map[string]reauthItem `dynamodbav:"reauth"`
}

// reauthItem is one entry of a lease item's reauth map.
type reauthItem struct {
	Version string `dynamodbav:"version"`
	Reason  string `dynamodbav:"reason"`
	At      string `dynamodbav:"at"`
}

func itemKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: pkPrefix + key},
		attrSK: &types.AttributeValueMemberS{Value: skLease},
	}
}

// decodeLease maps a lease item to a codex.Lease.
func decodeLease(key string, item map[string]types.AttributeValue) (*codex.Lease, error) {
	var it leaseItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode lease item %s: %w", key, err)
	}
	l := &codex.Lease{
		Key:         key,
		Owner:       it.Owner,
		Fence:       it.Fence,
		TTL:         time.Duration(it.TTL) * time.Millisecond,
		ExpiresAt:   time.UnixMilli(it.ExpiresAt),
		Pending:     codex.Pending{Account: it.PendingAccount, Version: it.PendingVersion, Base: it.PendingBase},
		Current:     it.Current,
		LastRefresh: parseTime(it.LastRefresh),
	}
	if it.BudgetAt != 0 {
		l.Budget = codex.RefreshBudget{Tokens: it.BudgetTokens, At: time.UnixMilli(it.BudgetAt)}
	}
	if len(it.Reauth) > 0 {
		l.Reauth = make(map[string]codex.ReauthMark, len(it.Reauth))
		for account, m := range it.Reauth {
			l.Reauth[account] = codex.ReauthMark{Version: m.Version, Reason: m.Reason, At: parseTime(m.At)}
		}
	}
	return l, nil
}

// decodeHeld maps a lease item to the record a waiter watches.
func decodeHeld(key string, item map[string]types.AttributeValue) (*codex.LeaseHeldError, error) {
	var it leaseItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode lease item %s: %w", key, err)
	}
	return &codex.LeaseHeldError{
		Owner:     it.Owner,
		Fence:     it.Fence,
		Beat:      it.Beat,
		TTL:       time.Duration(it.TTL) * time.Millisecond,
		ExpiresAt: time.UnixMilli(it.ExpiresAt),
		Current:   it.Current,
	}, nil
}

// encodeReauth maps reauth marks to the stored shape.
func encodeReauth(marks map[string]codex.ReauthMark) map[string]reauthItem {
	out := make(map[string]reauthItem, len(marks))
	for account, m := range marks {
		out[account] = reauthItem{Version: m.Version, Reason: m.Reason, At: formatTime(m.At)}
	}
	return out
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// parseTime reads an RFC3339 timestamp; anything else is the zero time
// (the field is informational).
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
