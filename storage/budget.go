package storage

import (
	"context"
	"sync"
	"time"
)

// Budget is one run's deadline for what it asks of the network — a shared
// store, a token endpoint — so that a run whose every operation would wait
// its own timeout on a server that accepts connections and never answers
// ends within one (docs/commands.md, --timeout). The stores and refresh's
// client bound their requests by it; the CLI makes one for a run.
//
// Waiting for another process's lock is not the run's own work: a wait
// (Pause until the resume) moves the deadline by its length, so a run that
// waited for the lock still has what was left of its time. A nil *Budget
// bounds nothing.
type Budget struct {
	mu       sync.Mutex
	end      time.Time
	pausedAt time.Time
	pauses   int
}

// NewBudget is a budget of d from now.
func NewBudget(d time.Duration) *Budget { return &Budget{end: time.Now().Add(d)} }

// Deadline is when the budget runs out; while paused, it moves with the
// clock.
func (b *Budget) Deadline() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pauses > 0 {
		return b.end.Add(time.Since(b.pausedAt))
	}
	return b.end
}

// Bound is ctx with the budget's deadline (an earlier one of ctx stays).
func (b *Budget) Bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if b == nil {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, b.Deadline())
}

// Pause stops the budget until the returned function is called (once is
// enough; more calls do nothing). Pauses may overlap: the deadline moves by
// the time at least one was under way.
func (b *Budget) Pause() (resume func()) {
	if b == nil {
		return func() {}
	}
	b.mu.Lock()
	if b.pauses == 0 {
		b.pausedAt = time.Now()
	}
	b.pauses++
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			if b.pauses--; b.pauses == 0 {
				b.end = b.end.Add(time.Since(b.pausedAt))
			}
		})
	}
}

// Bounds are how long a shared store's operations may take.
type Bounds struct {
	Timeout time.Duration // one operation (the lifecycle's --timeout)
	Budget  *Budget       // the run's one deadline (nil: none)
}

// Op bounds one operation by Timeout and by the run's Budget.
func (b Bounds) Op(ctx context.Context) (context.Context, context.CancelFunc) {
	bctx, stop := b.Budget.Bound(ctx)
	octx, cancel := context.WithTimeout(bctx, b.Timeout)
	return octx, func() { cancel(); stop() }
}

// Save bounds a write by Timeout alone: the answer it saves may hold the
// only copy of a rotated refresh token, and is worth the time even when the
// run's budget has run out (the pending file is what a failure leaves).
func (b Bounds) Save(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, b.Timeout)
}

// Release bounds the freeing of a lock by Timeout and 5 s: a lease that
// cannot be freed runs out by itself, and Unlock should not keep a run.
func (b Bounds) Release() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), min(b.Timeout, 5*time.Second))
}

// Sleep waits d, or until ctx ends: false when ctx ended first.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
