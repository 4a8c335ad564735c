// Package quota is the vocabulary codexgate stores about an account's usage
// and availability, defined once: a usage snapshot and its windows (what the
// usage endpoint and the x-codex-* response headers report, what the quota
// cron stores and the proxy's pool routes by) and the cooldown reasons the
// state table records. It imports no AWS SDK, so the proxy core can use it.
package quota

import (
	"math"
	"time"
)

// Window kinds, as stored in quota snapshots and used as the Window metric
// dimension: a window is named by its length (docs/DESIGN.md §6.5: 18000 s
// ≈ 5 h, 604800 s = a week), never by its position in an answer.
const (
	Kind5h     = "5h"
	KindWeekly = "weekly"
	KindOther  = "other"
)

// Window lengths the backend reports in limit_window_seconds.
const (
	fiveHourSeconds = 5 * 60 * 60      // 18000
	weekSeconds     = 7 * 24 * 60 * 60 // 604800
)

// Snapshot is one reading of an account's quota.
type Snapshot struct {
	Plan         string    `json:"plan,omitempty" dynamodbav:"plan"`
	Allowed      bool      `json:"allowed" dynamodbav:"allowed"`
	LimitReached bool      `json:"limit_reached" dynamodbav:"limit_reached"`
	Windows      []Window  `json:"windows,omitempty" dynamodbav:"windows"`
	Credits      Credits   `json:"credits" dynamodbav:"credits"`
	FetchedAt    time.Time `json:"fetched_at" dynamodbav:"fetched_at"`
}

// Window is one usage window, classified by its length.
type Window struct {
	Kind          string    `json:"kind" dynamodbav:"kind"` // Kind5h, KindWeekly or KindOther
	UsedPercent   float64   `json:"used_percent" dynamodbav:"used_percent"`
	WindowSeconds int64     `json:"window_seconds" dynamodbav:"window_seconds"`
	ResetAt       time.Time `json:"reset_at,omitzero" dynamodbav:"reset_at"` // zero when unknown; a window past its reset counts as unused
}

// Credits is the account's credit balance, as far as the backend reports it.
type Credits struct {
	HasCredits bool   `json:"has_credits" dynamodbav:"has_credits"`
	Unlimited  bool   `json:"unlimited" dynamodbav:"unlimited"`
	Balance    string `json:"balance,omitempty" dynamodbav:"balance"` // decimal text; the backend sends a string or a number
}

// Classify names a window by its length: within 10% of 5 hours is Kind5h,
// within 10% of a week KindWeekly, anything else KindOther.
func Classify(windowSeconds int64) string {
	near := func(want int64) bool { return math.Abs(float64(windowSeconds-want)) <= float64(want)/10 }
	switch {
	case windowSeconds <= 0:
		return KindOther
	case near(fiveHourSeconds):
		return Kind5h
	case near(weekSeconds):
		return KindWeekly
	}
	return KindOther
}

// Exhausted reports whether the account cannot be used now (the backend says
// limit_reached, or a window is at 100%), and until when: the latest reset
// among the exhausted windows, or among all windows when only the flag says
// so. until is zero when no reset time is known.
func (s Snapshot) Exhausted() (limited bool, until time.Time) {
	full := false
	for _, w := range s.Windows {
		if w.UsedPercent >= 100 {
			full = true
			if w.ResetAt.After(until) {
				until = w.ResetAt
			}
		}
	}
	if full {
		return true, until
	}
	if !s.LimitReached && s.Allowed {
		return false, time.Time{}
	}
	for _, w := range s.Windows {
		if w.ResetAt.After(until) {
			until = w.ResetAt
		}
	}
	return true, until
}

// Cooldown reasons, stored with an account's cooldown. The quota cron lifts
// early only the cooldowns it can judge: CooldownUsageLimit, when a fresh
// usage reading shows the account available again.
const (
	CooldownUsageLimit   = "usage_limit_reached" // until the upstream's resets_at
	CooldownUnauthorized = "unauthorized"        // a 401 right after a forced refresh
)
