// Package fakeclock is a settable clock for tests. The lifecycle Manager, its
// token-endpoint Client and the fake token endpoint take one each (refresh.Clock,
// fakeserver.Options.Now); sharing one Clock makes all three agree on what time it
// is, so that expiry can be reached without waiting.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is a time that moves only when told to. It is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a Clock set to t.
func New(t time.Time) *Clock { return &Clock{t: t} }

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
