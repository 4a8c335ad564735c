package codex

import (
	"context"
	"errors"
	"sync"
	"time"
)

// heartbeat keeps a held lease alive while a refresh runs long, and knows by
// this process's own clock until when the lease is surely still ours: the
// send time of the last confirmed acquire or renewal plus its duration. A
// waiter takes a lease over only after watching one record stand still for
// a full duration on its clock, so past that instant this holder must not
// start a write (see Refresher.persist). A normal refresh ends long before
// the first beat, so it costs no renewal call.
type heartbeat struct {
	r     *Refresher
	lease *Lease

	mu    sync.Mutex
	until time.Time
	lost  error // ErrLeaseLost once a renewal found another holder

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// keepAlive starts the heartbeat of l, acquired by a request sent at sent;
// ctx bounds the renewals' lease durations (the flight's deadline).
func (r *Refresher) keepAlive(ctx context.Context, l *Lease, sent time.Time) *heartbeat {
	h := &heartbeat{r: r, lease: l, until: sent.Add(l.TTL), stop: make(chan struct{}), done: make(chan struct{})}
	go h.run(ctx)
	return h
}

func (h *heartbeat) run(ctx context.Context) {
	defer close(h.done)
	every := max(h.lease.TTL/3, 10*time.Millisecond)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ttl := h.r.leaseTTL
		if dl, ok := ctx.Deadline(); ok {
			ttl = min(ttl, dl.Sub(h.r.now()))
		}
		if ttl <= 0 {
			return // the flight's time is up: let the lease run out
		}
		sent := h.r.now()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), every)
		err := h.r.leaser.Renew(rctx, h.lease, ttl)
		cancel()
		switch {
		case err == nil:
			h.mu.Lock()
			h.until = sent.Add(ttl)
			h.mu.Unlock()
			h.r.log.Info("lease renewed", "lease", maskKey(h.lease.Key), "fence", h.lease.Fence, "ttl_ms", ttl.Milliseconds())
		case errors.Is(err, ErrLeaseLost):
			h.mu.Lock()
			h.lost = err
			h.mu.Unlock()
			return
		default:
			// Unconfirmed: until stays where it was; try again next beat.
			h.r.log.Warn("renew lease", "lease", maskKey(h.lease.Key), "fence", h.lease.Fence, "err", err)
		}
	}
}

// left is how long the lease is surely still ours; zero or less once it may
// not be (or a renewal found another holder).
func (h *heartbeat) left() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost != nil {
		return 0
	}
	return h.until.Sub(h.r.now())
}

// end stops the heartbeat and waits for a renewal in flight to finish.
// Refresher.release calls it before it sends the release, so that no
// renewal lands after it; calling it again is a no-op.
func (h *heartbeat) end() {
	h.stopOnce.Do(func() { close(h.stop) })
	<-h.done
}
