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
