package storage

import (
	"errors"
	"time"
)

// What a shared store (storage/etcd) adds to the Store seam, for the
// lifecycle to act on.

// ErrUnavailable is matched (errors.Is) by the errors of a shared store that
// could not be reached in time. The lifecycle treats it as temporary: it
// serves a still-valid token with a warning, and otherwise asks to retry
// later, never a human.
var ErrUnavailable = errors.New("storage: store unavailable")

// LockPoller is a Store whose Lock should be called in slices of
// LockPoll() by a waiter that re-reads the record between slices (the
// file lock is polled every 10 ms; a shared store's Lock costs requests).
type LockPoller interface {
	LockPoll() time.Duration
}

// MinLeaseTTL is the shortest lease a shared store asks for.
const MinLeaseTTL = 2 * time.Second

// LeaseTTL is a shared store's lock lease for a run with the given --timeout
// and --lock-timeout: timeout + 15 s, so that a holder that starts a
// request with its full budget still owns the lock when the answer comes,
// and always below lockTimeout, so that a killed holder's lease runs out
// before its waiters give up. Whole seconds (etcd's unit, and a Lease's).
func LeaseTTL(timeout, lockTimeout time.Duration) time.Duration {
	ttl := timeout + 15*time.Second
	if lockTimeout > 0 && ttl >= lockTimeout {
		ttl = lockTimeout - time.Second
	}
	ttl = ttl.Truncate(time.Second)
	return max(ttl, MinLeaseTTL)
}
