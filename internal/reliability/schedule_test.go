package reliability

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/codexgate/codexgate/shared/codex"
)

// faultKind is one kind of fault a seeded run injects.
type faultKind string

const (
	kindAWS      faultKind = "aws"          // a window of AWS errors, stalls or lost answers on one container
	kindUpstream faultKind = "upstream-401" // a window of 401s to valid tokens on one account or all
	kindExpiry   faultKind = "expiry"       // the simulator expires an account's access tokens
	kindStorm    faultKind = "storm"        // many concurrent forced refreshes across containers
	kindCLI      faultKind = "cli-sigint"   // `codexgate refresh --force` interrupted by SIGINT mid-refresh
)

// faultEvent is one scheduled fault, relative to the start of the faults.
type faultEvent struct {
	At, For   time.Duration // start; window length (aws, upstream-401)
	Kind      faultKind
	Container int           // aws, storm (first container; a storm spreads over all)
	Op        string        // aws: the operation
	Action    string        // aws: one of awsActions
	Account   string        // "" = every account (upstream-401)
	N         int           // storm: concurrent forced refreshes
	Delay     time.Duration // aws stall length; cli: SIGINT after this
}

func (e faultEvent) String() string {
	at := fmt.Sprintf("+%s", e.At.Round(100*time.Millisecond))
	switch e.Kind {
	case kindAWS:
		act := e.Action
		if act == "stall" {
			act = fmt.Sprintf("stall %s", e.Delay)
		}
		return fmt.Sprintf("%s aws c%d %s %s for %s", at, e.Container+1, e.Op, act, e.For.Round(100*time.Millisecond))
	case kindUpstream:
		who := e.Account
		if who == "" {
			who = "every account"
		}
		return fmt.Sprintf("%s 401 on %s for %s", at, who, e.For.Round(100*time.Millisecond))
	case kindStorm:
		return fmt.Sprintf("%s storm of %d forced refreshes of %s", at, e.N, e.Account)
	case kindCLI:
		return fmt.Sprintf("%s CLI refresh --force of %s, SIGINT after %s", at, e.Account, e.Delay.Round(10*time.Millisecond))
	}
	return fmt.Sprintf("%s %s %s", at, e.Kind, e.Account)
}

// awsOps are the operations the product makes (lease, secrets, account
// states, keys, usage); awsActions what a window does to them.
var (
	awsOps     = []string{"GetSecretValue", "PutSecretValue", "UpdateSecretVersionStage", "DescribeSecret", "ListSecrets", "UpdateItem", "GetItem", "Query", "PutItem"}
	awsActions = []string{"error 500", "throttled", "stall", "answer dropped", "refused"}
)

// refreshBudgetUse bounds the OAuth refreshes a schedule may cost one
// account, estimated: an expiry, a storm or a CLI refresh costs one, an
// upstream window up to incidentRefreshes. The default budget's burst
// (codex.DefaultRefreshRate) must not be what darkens the gateway: that
// would be the budget working, not the failure under test; two are kept
// for the estimate's slack.
var refreshBudgetUse = codex.DefaultRefreshRate.Burst - 2

// cliTokenDelay is how late the token endpoint answers the CLI's refresh:
// less than the containers' 2 s OAuth timeout, should a container's refresh
// take the delay instead (a longer one would make that container give up
// while OpenAI rotates, the one window no storage closes). The CLI gets
// SIGINT 0.4–1.8 s after it starts, so most interrupts land while its
// request is at the token endpoint.
const cliTokenDelay = 1500 * time.Millisecond

// newSchedule draws a seed's faults over period, for containers containers
// and accounts, from a PCG seeded by seed alone: the same seed gives the
// same schedule. Every kind appears at least once; counts grow with the
// period (the figures are per 90 s), refresh-costing ones within
// refreshBudgetUse. Windows of one container and operation never overlap
// (ending one clears the operation's faults).
func newSchedule(seed uint64, period time.Duration, containers int, accounts []string) []faultEvent {
	rng := rand.New(rand.NewPCG(seed, 0xc0de6a7e))
	scale := period.Seconds() / 90
	count := func(lo, hi int) int { // lo..hi per 90 s, at least 1
		return max(1, int(math.Round(scale*float64(lo+rng.IntN(hi-lo+1)))))
	}
	dur := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo)+1)) }
	at := func(length time.Duration) time.Duration { return dur(0, max(period-length, 0)) }
	cost := map[string]int{}
	affordable := func(account string, n int) bool {
		for _, a := range accounts {
			if account == "" || a == account {
				if cost[a]+n > refreshBudgetUse {
					return false
				}
			}
		}
		for _, a := range accounts {
			if account == "" || a == account {
				cost[a] += n
			}
		}
		return true
	}
	var out []faultEvent
	upstream := func() {
		e := faultEvent{Kind: kindUpstream, For: dur(5*time.Second, 25*time.Second)}
		if rng.IntN(2) == 0 {
			e.Account = accounts[rng.IntN(len(accounts))]
		}
		e.At = at(e.For)
		if affordable(e.Account, incidentRefreshes) {
			out = append(out, e)
		}
	}
	aws := func() {
		e := faultEvent{Kind: kindAWS, Container: rng.IntN(containers), Op: awsOps[rng.IntN(len(awsOps))],
			Action: awsActions[rng.IntN(len(awsActions))], For: dur(3*time.Second, 15*time.Second)}
		if e.Action == "stall" {
			e.Delay = dur(3*time.Second, 8*time.Second).Round(time.Second)
		}
		for range 20 { // re-draw the start until it overlaps no window of the same container and operation
			e.At = at(e.For)
			if !slices.ContainsFunc(out, func(o faultEvent) bool {
				return o.Kind == kindAWS && o.Container == e.Container && o.Op == e.Op && e.At < o.At+o.For && o.At < e.At+e.For
			}) {
				out = append(out, e)
				return
			}
		}
	}
	expiry := func() {
		e := faultEvent{Kind: kindExpiry, Account: accounts[rng.IntN(len(accounts))], At: at(0)}
		if affordable(e.Account, 1) {
			out = append(out, e)
		}
	}
	storm := func() {
		e := faultEvent{Kind: kindStorm, Account: accounts[rng.IntN(len(accounts))], Container: rng.IntN(containers), N: 6 + rng.IntN(10), At: at(0)}
		if affordable(e.Account, 1) {
			out = append(out, e)
		}
	}
	cli := func() {
		e := faultEvent{Kind: kindCLI, Account: accounts[rng.IntN(len(accounts))], Delay: dur(400*time.Millisecond, 1800*time.Millisecond), At: at(5 * time.Second)}
		if affordable(e.Account, 1) {
			out = append(out, e)
		}
	}
	kinds := []struct {
		draw   func()
		lo, hi int // per 90 s
	}{{upstream, 1, 2}, {aws, 3, 6}, {expiry, 3, 6}, {storm, 1, 2}, {cli, 1, 2}}
	// One of each kind first (all fit the budget), then the rest in turns,
	// so a long period's budget is not spent on one kind.
	left := make([]int, len(kinds))
	for i, k := range kinds {
		left[i] = count(k.lo, k.hi) - 1
		k.draw()
	}
	for more := true; more; {
		more = false
		for i, k := range kinds {
			if left[i] > 0 {
				left[i]--
				k.draw()
				more = true
			}
		}
	}
	slices.SortStableFunc(out, func(a, b faultEvent) int { return int(a.At - b.At) })
	return out
}

// scheduleSummary counts a schedule's events by kind.
func scheduleSummary(s []faultEvent) string {
	n := map[faultKind]int{}
	for _, e := range s {
		n[e.Kind]++
	}
	var parts []string
	for _, k := range []faultKind{kindAWS, kindUpstream, kindExpiry, kindStorm, kindCLI} {
		parts = append(parts, fmt.Sprintf("%d %s", n[k], k))
	}
	return strings.Join(parts, ", ")
}

func TestNewSchedule(t *testing.T) {
	accounts := []string{"a", "b"}
	for _, period := range []time.Duration{30 * time.Second, 90 * time.Second, 10 * time.Minute} {
		for seed := range uint64(20) {
			s := newSchedule(seed, period, 3, accounts)
			if again := newSchedule(seed, period, 3, accounts); !slices.Equal(s, again) {
				t.Fatalf("seed %d: two schedules differ", seed)
			}
			kinds := map[faultKind]bool{}
			cost := map[string]int{}
			for i, e := range s {
				kinds[e.Kind] = true
				if e.At < 0 || e.At+e.For > period {
					t.Errorf("seed %d: %s outside the %s period", seed, e, period)
				}
				if i > 0 && e.At < s[i-1].At {
					t.Errorf("seed %d: not sorted at %s", seed, e)
				}
				for _, o := range s[:i] {
					if e.Kind == kindAWS && o.Kind == kindAWS && o.Container == e.Container && o.Op == e.Op && e.At < o.At+o.For {
						t.Errorf("seed %d: %s overlaps %s", seed, e, o)
					}
				}
				n := 1
				if e.Kind == kindUpstream {
					n = incidentRefreshes
				}
				for _, a := range accounts {
					if e.Kind != kindAWS && (e.Account == "" || e.Account == a) {
						cost[a] += n
					}
				}
			}
			if len(kinds) != 5 {
				t.Errorf("seed %d, %s: kinds %v, want all five", seed, period, kinds)
			}
			for a, n := range cost {
				if n > refreshBudgetUse {
					t.Errorf("seed %d, %s: account %s may cost %d refreshes, over %d", seed, period, a, n, refreshBudgetUse)
				}
			}
		}
	}
	if slices.Equal(newSchedule(1, time.Minute, 3, accounts), newSchedule(2, time.Minute, 3, accounts)) {
		t.Error("seeds 1 and 2 drew the same schedule")
	}
}
