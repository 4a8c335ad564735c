package codex

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// backoff is the package's one retry policy: jittered delays from first,
// doubling up to most, for at most attempts tries (0: no limit). A retry
// never starts a wait that would pass the context's deadline.
type backoff struct {
	first, most time.Duration
	attempts    int
}

// permanent marks an error retry must not repeat.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// retry runs op until it succeeds, fails permanently, runs out of attempts
// or of time; it returns how many tries it made and the last error.
func (b backoff) retry(ctx context.Context, op func() error) (int, error) {
	delay := b.first
	for made := 1; ; made++ {
		err := op()
		if err == nil {
			return made, nil
		}
		var p permanent
		if errors.As(err, &p) {
			return made, p.error
		}
		if b.attempts > 0 && made >= b.attempts {
			return made, err
		}
		wait := jitter(delay)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return made, err
		}
		if serr := sleep(ctx, wait); serr != nil {
			return made, err
		}
		delay = min(2*delay, b.most)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// jitter spreads d over [d/2, d] so that many containers don't retry in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
