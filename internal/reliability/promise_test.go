package reliability

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/codexgate/codexgate/internal/openaisim"
	"github.com/codexgate/codexgate/internal/simworld"
	"github.com/codexgate/codexgate/shared/codex"
)

const promiseSection = "The promise under real AWS semantics and long faults (issue 13; simworld scenarios shared with shared/codex/promise_test.go)"

// testTimeouts are the ones the refresh routine's own tests run these
// scenarios with (OAuth 3 s, persist 5 s, lease 10 s): the scenarios delay
// the token endpoint by up to 2 s, which the matrix's 2 s OAuth budget would
// turn into a timeout.
var testTimeouts = codex.WithTimeouts(3*time.Second, 5*time.Second, 10*time.Second)

// promiseRows runs the scenarios of the ways a login was once lost or wedged
// under real AWS semantics (internal/simworld/promise.go), one row each,
// with the timeouts the refresh routine's own tests use for them.
func promiseRows(t *testing.T, add func(Row)) {
	row := func(name string) Row { return Row{Section: promiseSection, Name: name} }
	served := func(r *Row, res ...simworld.Result) []string {
		var errs []string
		for _, x := range res {
			r.Requests++
			switch {
			case x.Err == nil:
				r.Served++
			case errors.Is(x.Err, codex.ErrReauthRequired):
				r.Reauth = 1
				fallthrough
			default:
				errs = append(errs, x.Err.Error())
			}
		}
		if len(errs) > 0 {
			r.Why = fmt.Sprintf("%s errors seen: %s", r.Why, errs[0])
		}
		return errs
	}
	clean := func(r Row) bool { return r.Reuse == 0 && r.TokensLost == 0 && r.Reauth == 0 && r.Err == "" }

	t.Run("write fails longer than the lease", func(t *testing.T) {
		w := newWorld(t)
		w.ImportExpiring(t, "main", "acct-long-write")
		r := row("1. every PutSecretValue throttled for 20 s (lease 5 s) after OpenAI rotated; a second container calls 12 s in")
		o := w.WriteFailsLongerThanLease(t, "main", false)
		served(&r, o.First, o.Second)
		w.settle(&r, "main")
		same := o.First.Creds.Access != "" && o.First.Creds.Access == o.Second.Creds.Access && o.Second.Creds.Access == o.Stored
		r.Why = "The holder renews its lease while the writes fail; the second container waits, then adopts the stored token." + r.Why
		r.Expected = clean(r) && r.Served == 2 && r.Refreshes == 1 && same
		add(r)
	})
	t.Run("unlabelled pending version", func(t *testing.T) {
		w := newWorld(t)
		w.ImportExpiring(t, "main", "acct-label")
		r := row("2. a dead holder's pending version lost its label to an outside write that moved AWSCURRENT (DescribeSecret no longer lists it)")
		res, _ := w.UnlabelledPending(t, "main", "acct-label")
		served(&r, res)
		w.settle(&r, "main")
		r.Why = "The next holder clears the intent (its base is no longer current) and refreshes the new login; the account is not wedged." + r.Why
		r.Expected = clean(r) && r.Served == 1 && r.Refreshes == 1
		add(r)
	})
	t.Run("import racing a refresh", func(t *testing.T) {
		w := newWorld(t)
		tok := w.ImportExpiring(t, "main", "acct-race")
		r := row("3. `import` of the same auth.json while a refresh is at the token endpoint (answer delayed 2 s)")
		o := w.ImportRacingRefresh(t, "main", tok, testTimeouts)
		served(&r, o.Refresh)
		r.Requests++ // the import
		w.settle(&r, "main")
		r.Why = fmt.Sprintf("Import waited for the refresh's lease: %v; its answer: %v.%s", o.Waited, o.Import, r.Why)
		r.Expected = clean(r) && r.Served == 1 && r.Refreshes == 1 && o.Waited && errors.Is(o.Import, codex.ErrSpentRefreshToken)
		add(r)
	})
	t.Run("CLI interrupted during a refresh", func(t *testing.T) { cliInterruptRow(t, add) })
	for _, skew := range []time.Duration{-5 * time.Minute, 5 * time.Minute} {
		t.Run("clock skew "+skew.String(), func(t *testing.T) {
			w := newWorld(t)
			w.ImportExpiring(t, "main", "acct-skew")
			r := row(fmt.Sprintf("5. the holder's lease clock %+d min off; its OAuth answer delayed 2 s; a second container calls meanwhile", int(skew.Minutes())))
			o := w.ClockSkew(t, "main", skew, testTimeouts)
			served(&r, o.Holder, o.Waiter)
			w.settle(&r, "main")
			r.Expected = clean(r) && r.Served == 2 && r.Refreshes == 1 && o.Holder.Creds.Access == o.Waiter.Creds.Access
			add(r)
		})
	}
	t.Run("silent lease takeover", func(t *testing.T) {
		w := newWorld(t)
		w.ImportExpiring(t, "main", "acct-takeover")
		r := row("5. a holder whose clock was an hour behind took the lease (5 s) and died")
		res, took := w.SilentTakeover(t, "main")
		served(&r, res)
		w.settle(&r, "main")
		r.Why = fmt.Sprintf("Next caller took over after %s: it watched the record stand still for the lease's 5 s on its own clock.%s", took.Round(100*time.Millisecond), r.Why)
		r.Expected = clean(r) && r.Served == 1 && r.Refreshes == 1 && took >= 5*time.Second
		add(r)
	})
	t.Run("lease key change", func(t *testing.T) {
		w := newWorld(t)
		w.ImportExpiring(t, "main", "acct-before")
		r := row("6. `import --replace` of another ChatGPT account; a container caching the old lease key forces a refresh while a fresh one refreshes")
		o := w.LeaseKeyChange(t, "main", "acct-after", testTimeouts)
		served(&r, o.Fresh, o.Stale)
		after := w.Sim.Stats().Accounts["acct-after"]
		w.settle(&r, "main")
		r.Why = fmt.Sprintf("New login refreshed %d time(s); the stale container ended on the new login's token: %v.%s",
			after.Refreshes, o.Stale.Creds.AccountID == "acct-after" && o.Stale.Creds.Access == o.Fresh.Creds.Access, r.Why)
		r.Expected = clean(r) && r.Served == 2 && after.Refreshes == 1 && o.Stale.Creds.AccountID == "acct-after" && o.Stale.Creds.Access == o.Fresh.Creds.Access
		add(r)
	})
	t.Run("no time but a newer token stored", func(t *testing.T) {
		w := newWorld(t)
		w.ImportExpiring(t, "main", "acct-notime")
		r := row("7. a container with 2 s left (a refresh needs more) and an expiring cached token, after another container stored a newer one")
		res, stored := w.NoTime(t, "main", testTimeouts)
		r.Requests = 2 // the container's first call and the other container's refresh
		r.Served = 2
		served(&r, res)
		w.settle(&r, "main")
		r.Why = "It re-reads the secret once and adopts the stored token instead of answering \"not enough time\"." + r.Why
		r.Expected = clean(r) && r.Served == 3 && r.Refreshes == 2 && res.Creds.Access == stored
		add(r)
	})
	t.Run("stale AWSCURRENT reads", func(t *testing.T) {
		// Access tokens live 4 minutes, inside the 5-minute refresh skew:
		// every call refreshes.
		w := world{simworld.New(t, openaisim.Options{AccessTTL: 4 * time.Minute})}
		w.WithStaleReads()
		w.Login(t, "main", "acct-stale", 0)
		r := row("8. two containers take turns refreshing (6 calls) on a secret the stack serves the previous AWSCURRENT for 3 s after each promote")
		err := w.StaleReads("main", false)
		r.Requests = 6
		r.Served = 6
		if err != nil {
			r.Served-- // at least one
			r.Why = "last error: " + err.Error()
		}
		w.settle(&r, "main")
		r.Why = "Each holder reads the version the lease item names, by id, not the stale AWSCURRENT." + r.Why
		r.Expected = clean(r) && err == nil && r.Refreshes == 6
		add(r)
	})
	t.Run("refresh loop refused by the budget", func(t *testing.T) {
		w := newWorld(t)
		w.ImportExpiring(t, "main", "acct-budget")
		r := row(fmt.Sprintf("9. a loop of forced refreshes, one fresh container each, with the default budget (%d, one more every %s)", codex.DefaultRefreshRate.Burst, codex.DefaultRefreshRate.Every))
		n, refused, err := w.RefreshLoop("main", 30, testTimeouts)
		r.Served = n
		r.Requests = n
		if refused != nil {
			r.Requests++
			r.Why = fmt.Sprintf("Refusal after %d: %q; next allowed in %s.", n, refused.Error(), time.Until(refused.RetryAt).Round(time.Second))
		}
		if err != nil {
			r.Err = err.Error()
		}
		w.settle(&r, "main")
		r.Why += " The probe after the row refreshes with a raised budget."
		okRetry := refused != nil && time.Until(refused.RetryAt) > 14*time.Minute && time.Until(refused.RetryAt) <= codex.DefaultRefreshRate.Every
		r.Expected = clean(r) && n == codex.DefaultRefreshRate.Burst && r.Refreshes == n && okRetry
		add(r)
	})
}
