package storage

import (
	"errors"
	"time"
)

// What a shared store (storage/etcd, storage/kube) adds to the Store seam,
// for the lifecycle to act on, and what every shared store is given.

// ErrUnavailable is matched (errors.Is) by the errors of a shared store that
// could not be reached in time. The lifecycle treats it as temporary: it
// serves a still-valid token with a warning, and otherwise asks to retry
// later, never a human.
var ErrUnavailable = errors.New("storage: store unavailable")

// The stores' ErrLockLost and ErrRecordChanged stay each store's own: their
// texts name its API (a lease, a Lease), and only its callers match them.

// LockPoller is a Store whose Lock should be called in slices of
// LockPoll() by a waiter that re-reads the record between slices (the
// file lock is polled every 10 ms; a shared store's Lock costs requests).
type LockPoller interface {
	LockPoll() time.Duration
}

// Leased is a Locked whose lock is a lease of a fixed length, renewed while
// held (a shared store's). A lease no longer than a token request may take
// can never cover one: the lifecycle tells that from a lease that is merely
// running out.
type Leased interface {
	LeaseTTL() time.Duration
}

// LeaseMargin is how much longer than a request a lease lasts (LeaseTTL).
const LeaseMargin = 15 * time.Second

// MinLeaseTTL is the shortest lease a shared store asks for.
const MinLeaseTTL = 2 * time.Second

// LeaseTTL is a shared store's lock lease for a run with the given --timeout
// and --lock-timeout: timeout + 15 s, so that a holder that starts a
// request with its full budget still owns the lock when the answer comes,
// and always below lockTimeout, so that a killed holder's lease runs out
// before its waiters give up. Whole seconds (etcd's unit, and a Lease's).
func LeaseTTL(timeout, lockTimeout time.Duration) time.Duration {
	ttl := timeout + LeaseMargin
	if lockTimeout > 0 && ttl >= lockTimeout {
		ttl = lockTimeout - time.Second
	}
	ttl = ttl.Truncate(time.Second)
	return max(ttl, MinLeaseTTL)
}

// SharedOptions are what a shared store is given besides its client: the
// same for every store.
type SharedOptions struct {
	// Profile is the profile whose record the store keeps.
	Profile string
	// CopyFile is the host's read copy of the record (in the profile's
	// state directory), PendingFile where an answer that could not be saved
	// to the store waits to be pushed (HostFiles). Both are written 0600
	// through ReplaceFile and read through ReadRecord: a symbolic link at
	// either is never followed.
	CopyFile, PendingFile string
	// Timeout bounds every operation on the store (the lifecycle's
	// --timeout): an unreachable store is given up after it. 30 s when 0.
	Timeout time.Duration
	// Budget, when set, is the run's one deadline: reads, the lock and the
	// health check end by it too (a save does not: Bounds.Save).
	Budget *Budget
	// LeaseTTL is the lock's lease (LeaseTTL(Timeout, 0) when 0).
	LeaseTTL time.Duration
	// Warn receives what the user should know but is not an error (a
	// pending answer that could not be pushed). May be nil.
	Warn func(msg string)
	// Supersedes, when set, is the lifecycle's judgement of a pending
	// answer that the store moved past (another host saved since): true
	// when it should replace what the store holds now all the same (the
	// store's record holds a refresh token refused since, and the pending
	// answer the grant that replaced it). Otherwise, or when nil, the
	// pending answer is kept aside as stale. A store does not read records.
	Supersedes func(pending, current []byte) bool
}

// WithDefaults is o with a Timeout and a LeaseTTL.
func (o SharedOptions) WithDefaults() SharedOptions {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = LeaseTTL(o.Timeout, 0)
	}
	return o
}

// Bounds are o's Timeout and Budget.
func (o SharedOptions) Bounds() Bounds { return Bounds{Timeout: o.Timeout, Budget: o.Budget} }

// HostFiles are o's files for the store of files (its Store, CheckStore,
// BaseKey, What and Version).
func (o SharedOptions) HostFiles(files HostFiles) *HostFiles {
	files.Copy, files.Pending, files.Warn = o.CopyFile, o.PendingFile, o.Warn
	files.Supersedes = o.Supersedes
	return &files
}
