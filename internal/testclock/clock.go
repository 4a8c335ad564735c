// Package testclock is a settable clock for tests: a component that takes a
// func() time.Time gets Clock.Now, and the test moves time with Add. It is
// safe for concurrent use.
package testclock

import (
	"sync"
	"time"
)

// Clock is a time that only moves when told to.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock standing at start.
func New(start time.Time) *Clock { return &Clock{t: start} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
