package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"
)

// SharedLock is the part of a shared store's lock that every store keeps
// the same way: the lease's end as last renewed and whether the store said
// it is lost, the renewals that keep it (keepAlive), and the record as the
// lock's Read saw it, with its version V (etcd's mod revision, a Secret's
// resourceVersion), which a save must replace and a pending answer must
// have been meant to replace. How a lease is taken, checked, renewed and
// freed, and how a save is sent, stay each store's own though they look
// alike: etcd's lease and a Kubernetes Lease are different APIs.
// Bind it to the store's host files, its Read and its save first.
type SharedLock[V comparable] struct {
	files *HostFiles
	read  func(context.Context) ([]byte, error)
	save  func(context.Context, []byte) (V, error)

	mu      sync.Mutex
	expires time.Time     // the lease's end as last renewed, counted from when the renewal was sent
	ttl     time.Duration // the lease's length, as Hold was given it
	lost    bool          // the store said the lease is gone
	saw     bool          // Saw was called
	seen    V             // the version of the record Read returned (zero: none)
	data    []byte        // what Read returned
	// space is what Reserve set aside for the pending file, which Save
	// writes into when the store refuses: a disk that fills up while the
	// token request is out cannot refuse the answer it must keep.
	space *Reservation
	// unreachable: a save under the lock found the store not answering in
	// time; Release then leaves the lease to run out by itself.
	unreachable bool
	// The pending answer that PushPending could not save (the store
	// refused it), and the version it was meant to replace (hasPending):
	// while the store holds that version, the answer is the newer record.
	pending     []byte
	pendingBase V
	hasPending  bool

	stop, done chan struct{}
	stopOnce   sync.Once
	once       sync.Once
}

// Bind gives the lock the store's host files, its Read under the lock, and
// save: a write of data under the lock that keeps nothing when it fails,
// and returns the version it meant to replace.
func (h *SharedLock[V]) Bind(files *HostFiles, read func(context.Context) ([]byte, error), save func(context.Context, []byte) (V, error)) {
	h.files, h.read, h.save = files, read, save
}

// Hold starts the renewals of a lease just taken, whose end is until:
// every quarter of ttl (keepAlive), renew sends one and returns the lease's
// new end, or lost when the store says the lease is gone.
func (h *SharedLock[V]) Hold(until time.Time, ttl time.Duration, renew func(ctx context.Context) (until time.Time, lost bool, err error)) {
	h.mu.Lock()
	h.expires, h.ttl = until, ttl
	h.mu.Unlock()
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	go keepAlive(ttl, h.stop, h.done, func(ctx context.Context) (bool, bool) {
		until, lost, err := renew(ctx)
		h.mu.Lock()
		defer h.mu.Unlock()
		switch {
		case lost:
			h.lost = true
		case err == nil:
			h.expires = until
		}
		return err == nil, h.lost
	})
}

// held is whether Hold was called.
func (h *SharedLock[V]) held() bool { return h.stop != nil }

// StopRenewing ends the renewals and waits for the last one to return:
// Release does it first; a test does it to play a holder paused or killed.
func (h *SharedLock[V]) StopRenewing() {
	h.stopOnce.Do(func() {
		close(h.stop)
		<-h.done
	})
}

// Release stops the renewals and frees the lease through free (told
// whether the store said it is lost), once; a lock never held frees
// nothing, nor one whose save found the store unreachable (the lease runs
// out by itself, within its TTL).
func (h *SharedLock[V]) Release(free func(lost bool) error) error {
	var err error
	h.once.Do(func() {
		if !h.held() {
			return
		}
		h.StopRenewing()
		h.mu.Lock()
		lost, unreachable := h.lost, h.unreachable
		h.mu.Unlock()
		if unreachable {
			// A store that did not answer the save would keep the run
			// waiting once more, to free a lease that runs out by itself.
			return
		}
		err = free(lost)
	})
	h.takeSpace().Release()
	return err
}

// Reserve is the host's part of the store's save check (HostFiles.CheckSavable):
// the space the pending file would need stays reserved, for Save, until
// the save succeeds or the lock is released.
func (h *SharedLock[V]) Reserve(size int) error {
	h.takeSpace().Release()
	r, err := h.files.CheckSavable(size)
	h.mu.Lock()
	h.space = r
	h.mu.Unlock()
	return err
}

// takeSpace hands over what Reserve set aside (nil: nothing).
func (h *SharedLock[V]) takeSpace() *Reservation {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.space
	h.space = nil
	return r
}

// Expires is the lease's end as last renewed; a lease the store reported
// gone gives a time in the past.
func (h *SharedLock[V]) Expires() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost {
		return time.Time{}.Add(1)
	}
	return h.expires
}

// LeaseTTL is the length of the lease Hold keeps (storage.Leased).
func (h *SharedLock[V]) LeaseTTL() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ttl
}

// MarkLost records that the store said the lease is gone: the renewals stop.
func (h *SharedLock[V]) MarkLost() {
	h.mu.Lock()
	h.lost = true
	h.mu.Unlock()
}

// Saw records what the lock's Read returned and its version.
func (h *SharedLock[V]) Saw(seen V, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.saw, h.seen, h.data = true, seen, data
}

// Wrote records what the store holds after a write under the lock (the
// zero version and nil when the record was set aside).
func (h *SharedLock[V]) Wrote(seen V, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen, h.data = seen, data
}

// Current is what the lock's Read returns for the record it read (seen,
// data, err): the pending answer PushPending could not save, while the
// store still holds the version that answer was meant to replace. It is
// the newer record: the record's refresh token was spent for it, and a
// renewal under this lock that started from the record would send that
// spent token again (a replay some providers punish by revoking the
// grant), and its answer would replace the live one in the pending file.
func (h *SharedLock[V]) Current(seen V, data []byte, err error) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hasPending && seen == h.pendingBase && (err == nil || errors.Is(err, fs.ErrNotExist)) {
		return h.pending, nil
	}
	return data, err
}

// Seen is the version and the record Read saw.
func (h *SharedLock[V]) Seen() (V, []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen, h.data
}

// Base is the version a save replaces: the one Read saw, read first when it
// has not been; a record that does not exist is no error.
func (h *SharedLock[V]) Base(ctx context.Context) (V, error) {
	h.mu.Lock()
	saw, seen := h.saw, h.seen
	h.mu.Unlock()
	if saw {
		return seen, nil
	}
	if _, err := h.read(ctx); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return seen, err
	}
	seen, _ = h.Seen()
	return seen, nil
}

// Save replaces the record (the store's save). If it fails for any reason,
// data is kept in the pending file with the version it was meant to replace
// (the answer may carry a refresh token that was just spent), in the space
// Reserve set aside, and the error says so.
func (h *SharedLock[V]) Save(ctx context.Context, data []byte) error {
	base, err := h.save(ctx, data)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			h.mu.Lock()
			h.unreachable = true
			h.mu.Unlock()
		}
		return h.files.Keep(data, base, err, h.takeSpace())
	}
	h.takeSpace().Release()
	h.mu.Lock()
	replaced := h.hasPending
	h.hasPending, h.pending = false, nil
	h.mu.Unlock()
	if replaced {
		// The pending answer was what this save renewed from.
		_ = RemoveIfExists(h.files.Pending)
	}
	return nil
}

// PushPending runs under the lock, first thing: the pending answer replaces
// the record (save, which keeps nothing) if the record, read again, is
// still the version the answer was meant to replace. If another holder has
// saved since, the store has moved on: the pending answer is kept aside as
// PENDING.stale-<time> (never deleted) and a warning names it — unless
// HostFiles.Supersedes says it replaces the record all the same. A push that
// fails is a warning too: the answer stays pending.
func (h *SharedLock[V]) PushPending(ctx context.Context) {
	if err := h.pushPending(ctx); err != nil {
		h.files.Notify(fmt.Sprintf("the answer pending in %s could not be pushed: %v", h.files.Pending, err))
	}
}

func (h *SharedLock[V]) pushPending(ctx context.Context) error {
	var base V
	data, err := h.files.ReadPending(&base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := h.read(ctx); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if seen, current := h.Seen(); seen != base {
		if h.files.Supersedes != nil && h.files.Supersedes(data, current) {
			// Saved over the record read just now (save replaces what Read saw).
			if _, err := h.save(ctx, data); err != nil {
				h.keepPending(data, seen)
				return err
			}
			h.files.Notify(fmt.Sprintf("the answer pending in %s was pushed to %s although the record changed since (%s %#v, not %#v): the record's refresh token had been refused, and the pending answer holds the grant that replaced it", h.files.Pending, h.files.Store, h.files.Version, seen, base))
			return RemoveIfExists(h.files.Pending)
		}
		moved, err := MoveAsideAs(h.files.Pending, "stale", time.Now())
		if err != nil {
			return err
		}
		h.files.Notify(fmt.Sprintf("the answer pending in %s was not pushed: %s changed since (%s %#v, not %#v); it is kept in %s", h.files.Pending, h.files.Store, h.files.Version, seen, base, moved))
		return nil
	}
	if _, err := h.save(ctx, data); err != nil {
		h.keepPending(data, base)
		return err
	}
	return RemoveIfExists(h.files.Pending)
}

// keepPending makes the pending answer that could not be pushed over the
// record of version base what the lock's Read returns (Current).
func (h *SharedLock[V]) keepPending(data []byte, base V) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending, h.pendingBase, h.hasPending = data, base, true
}
