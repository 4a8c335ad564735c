package proxy

import (
	"fmt"
	"time"
)

// Routing strategies: the order among usable accounts (Config.Strategy,
// CODEXGATE_ROUTING_STRATEGY). Priority orders before any of them.
const (
	// StrategyHeadroom picks the account with the most quota headroom
	// left: load spreads evenly.
	StrategyHeadroom = "headroom"
	// StrategyFillFirst uses accounts in (priority, name) order, each until
	// it is limited: the others' windows stay fresh.
	StrategyFillFirst = "fill-first"
	// StrategySoonestReset picks the account whose current quota window
	// resets first: quota that would expire unused is spent first.
	StrategySoonestReset = "soonest-reset"
)

// Strategies lists the valid Config.Strategy values, the default first.
var Strategies = []string{StrategyHeadroom, StrategyFillFirst, StrategySoonestReset}

// ValidStrategy reports an error for a strategy that is not one of
// Strategies ("" is the default).
func ValidStrategy(s string) error {
	if s == "" {
		return nil
	}
	for _, v := range Strategies {
		if s == v {
			return nil
		}
	}
	return fmt.Errorf("routing strategy %q: want one of headroom, fill-first, soonest-reset", s)
}

// rank is what orders one usable account against another when the pool
// picks (affinity aside).
type rank struct {
	name     string
	priority int       // higher first, under every strategy
	room     float64   // quota headroom, 0..100
	reset    time.Time // the earliest reset of a current window; zero: unknown
}

// rankLocked reads n's rank.
func (p *pool) rankLocked(n string, now time.Time) rank {
	r := rank{name: n, priority: p.stored[n].Priority, room: p.headroomLocked(n, now)}
	if p.cfg.Strategy == StrategySoonestReset {
		r.reset = p.resetLocked(n, now)
	}
	return r
}

// before reports whether a is picked before b under strategy. Ties end in
// name order, so every container orders alike.
func (a rank) before(b rank, strategy string) bool {
	if a.priority != b.priority {
		return a.priority > b.priority
	}
	switch strategy {
	case StrategyFillFirst:
		// An account with no headroom left is the last resort, as under
		// every strategy; otherwise the first in name order fills up.
		if (a.room > 0) != (b.room > 0) {
			return a.room > 0
		}
	case StrategySoonestReset:
		if (a.room > 0) != (b.room > 0) {
			return a.room > 0
		}
		if !a.reset.Equal(b.reset) {
			switch {
			case a.reset.IsZero():
				return false
			case b.reset.IsZero():
				return true
			}
			return a.reset.Before(b.reset)
		}
	default:
		if a.room != b.room {
			return a.room > b.room
		}
	}
	return a.name < b.name
}

// resetLocked is the earliest reset time among n's current quota windows
// (zero when none is known), from the fresher of the stored snapshot and
// live headers.
func (p *pool) resetLocked(n string, now time.Time) time.Time {
	var at time.Time
	for _, w := range p.quotaLocked(n).Windows {
		if now.Before(w.ResetAt) {
			at = earliest(at, w.ResetAt)
		}
	}
	return at
}
