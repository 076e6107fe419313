package etcd

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Lock takes the profile's lock: one key, PREFIX/<profile>/lock, created by
// a transaction only when it does not exist (create_revision == 0) and
// attached to this process's lease, whose value names the holder. Waiters
// watch the profile's keys and try again when the lock key is deleted (by
// Unlock, or by etcd when the holder's lease runs out); while they wait, a
// record saved by the holder refreshes their host's read copy, so that the
// lifecycle's next lock-free Read sees it. The lease is granted only once
// the lock looks free, and kept alive while held, so a killed or
// partitioned holder frees the lock within its TTL by itself.
//
// A lock still held when timeout runs out is a *storage.LockBusyError; an
// etcd that does not answer within the store's Timeout an error matching
// storage.ErrUnavailable. A pending answer is pushed before Lock returns.
func (s *Store) Lock(ctx context.Context, timeout time.Duration, holder string) (storage.Locked, error) {
	l := &locked{s: s}
	l.Bind(s.files, l.Read, l.save)
	if err := l.acquire(ctx, time.Now(), timeout, holder); err != nil {
		l.Unlock()
		return nil, err
	}
	l.PushPending(ctx)
	return l, nil
}

// LockPoll tells the lifecycle to wait for this store's lock in slices of
// a second, not the file lock's 10 ms: each slice costs etcd a read and a
// watch, and a waiter's read copy is refreshed by the watch meanwhile.
func (s *Store) LockPoll() time.Duration { return time.Second }

// locked is the Store while this process holds the lock.
type locked struct {
	s     *Store
	lease int64 // 0 until granted
	// The lease's deadline as last kept alive, and the mod_revision of the
	// record Read returned (0: none).
	storage.SharedLock[int64]
}

func (l *locked) acquire(ctx context.Context, start time.Time, timeout time.Duration, holder string) error {
	deadline := start.Add(timeout)
	key := []byte(l.s.lockKey)
	var holderSeen string
	for {
		var rev int64
		var leaseless bool
		held, err := l.tryOnce(ctx, key, holder, &holderSeen, &rev, &leaseless)
		if err != nil || held {
			return err
		}
		if !time.Now().Before(deadline) {
			busy := &storage.LockBusyError{Path: l.s.LockName(), Holder: sanitize(holderSeen), Waited: time.Since(start)}
			if leaseless {
				return neverFreed(busy, l.s.lockKey)
			}
			return busy
		}
		l.waitFree(ctx, rev, deadline)
	}
}

// neverFreed is a lock key under no lease (put by a person or a tool, never
// by tokenkeeper, whose lock lives on a lease): etcd never frees it, so
// waiting again does not help and "run again shortly" would be wrong. It
// is for a person to remove (a *storage.ConfigError, exit 78), still a
// busy lock to the waiter, which waits for it until its --lock-timeout.
func neverFreed(busy *storage.LockBusyError, key string) error {
	return &storage.ConfigError{Err: busy,
		Msg:  fmt.Sprintf("etcd: lock %s is held by %s under no lease: etcd never frees it by itself", busy.Path, cmp.Or(busy.Holder, "another writer")),
		Hint: fmt.Sprintf("if no tokenkeeper holds it, delete it: etcdctl del %s", storage.ShellQuote(key))}
}

// tryOnce takes the lock if it is free: a read first, so that a waiter
// costs etcd no lease; then the lease (once) and the transaction.
func (l *locked) tryOnce(ctx context.Context, key []byte, holder string, holderSeen *string, atRev *int64, leaseless *bool) (bool, error) {
	octx, cancel := l.s.bounds.Op(ctx)
	defer cancel()
	if l.lease == 0 {
		kv, r, err := l.s.o.Client.Get(octx, l.s.lockKey)
		if err != nil {
			return false, fmt.Errorf("etcd: lock %s: %w", l.s.lockKey, err)
		}
		if kv != nil {
			*holderSeen, *atRev, *leaseless = string(kv.Value), r, kv.Lease == 0
			return false, nil
		}
		sent := time.Now()
		id, ttl, err := l.s.o.Client.Grant(octx, int64(l.s.o.LeaseTTL/time.Second))
		if err != nil {
			return false, fmt.Errorf("etcd: lock %s: %w", l.s.lockKey, err)
		}
		l.lease = id
		l.Hold(sent.Add(time.Duration(ttl)*time.Second), time.Duration(ttl)*time.Second, l.renew)
	}
	r, err := l.s.o.Client.Txn(octx, TxnRequest{
		Compare: []Compare{{Result: "EQUAL", Target: "CREATE", Key: key, CreateRevision: rev(0)}},
		Success: []RequestOp{{Put: &PutRequest{Key: key, Value: []byte(holder), Lease: i64(l.lease)}}},
		Failure: []RequestOp{{Range: &RangeRequest{Key: key}}},
	})
	if err != nil {
		return false, fmt.Errorf("etcd: lock %s: %w", l.s.lockKey, err)
	}
	kv := firstKV(r)
	if r.Succeeded || (kv != nil && int64(kv.Lease) == l.lease) {
		return true, nil // (or an earlier attempt of ours took it and its answer was lost)
	}
	if kv != nil {
		*holderSeen, *leaseless = string(kv.Value), kv.Lease == 0
	}
	*atRev = int64(r.Header.Revision)
	return false, nil
}

func firstKV(r *TxnResponse) *KeyValue {
	if len(r.Responses) == 0 || r.Responses[0].Range == nil || len(r.Responses[0].Range.Kvs) == 0 {
		return nil
	}
	return r.Responses[0].Range.Kvs[0]
}

// waitFree watches the profile's keys after revision rev until the lock key
// is deleted or deadline; a record saved meanwhile refreshes the read copy.
// When the watch cannot be set up it pauses briefly: the caller's next try
// is what finds an unreachable store.
func (l *locked) waitFree(ctx context.Context, rev int64, deadline time.Time) {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	base := []byte(l.s.base)
	err := l.s.o.Client.Watch(wctx, base, prefixEnd(base), rev+1, func(_ int64, evs []Event) bool {
		for _, ev := range evs {
			switch {
			case ev.Kv == nil:
			case string(ev.Kv.Key) == l.s.lockKey && ev.Type == "DELETE":
				return false
			case string(ev.Kv.Key) == l.s.recordKey && ev.Type != "DELETE":
				l.s.files.WriteCopy(l.s.files.Cap(ev.Kv.Value))
			}
		}
		return true
	})
	if err != nil && wctx.Err() == nil {
		storage.Sleep(wctx, 200*time.Millisecond)
	}
}

// renew keeps the lease alive, every quarter of its TTL until Unlock (so
// that at least 3/4 of the TTL, more than --timeout, is always left):
// its deadline counted from when the renewal was sent; etcd's answer of no
// time left means the lease is gone.
func (l *locked) renew(ctx context.Context) (time.Time, bool, error) {
	sent := time.Now()
	left, err := l.s.o.Client.KeepAlive(ctx, l.lease)
	return sent.Add(time.Duration(left) * time.Second), err == nil && left <= 0, err
}

// Read re-reads the record from etcd under the lock and remembers its
// revision for Save; the read copy is refreshed.
func (l *locked) Read(ctx context.Context) ([]byte, error) {
	octx, cancel := l.s.bounds.Op(ctx)
	defer cancel()
	kv, _, err := l.s.o.Client.Get(octx, l.s.recordKey)
	if err != nil {
		return nil, fmt.Errorf("etcd: read %s: %w", l.s.Name(), err)
	}
	if kv == nil {
		l.Saw(0, nil)
		l.s.files.DropCopy()
		return l.Current(0, nil, fmt.Errorf("etcd: %s: %w", l.s.Name(), fs.ErrNotExist))
	}
	data := l.s.files.Cap(kv.Value)
	l.Saw(int64(kv.ModRevision), data)
	l.s.files.WriteCopy(data)
	return l.Current(int64(kv.ModRevision), data, nil)
}

// CheckSavable proves that the lock is still ours and etcd answers, that
// size fits etcd's request limit, and that the pending file could be written
// if the save to etcd failed.
func (l *locked) CheckSavable(ctx context.Context, size int) error {
	if err := l.Reserve(size); err != nil {
		return err
	}
	octx, cancel := l.s.bounds.Op(ctx)
	defer cancel()
	kv, _, err := l.s.o.Client.Get(octx, l.s.lockKey)
	if err != nil {
		return fmt.Errorf("etcd: check %s: %w", l.s.lockKey, err)
	}
	if kv == nil || int64(kv.Lease) != l.lease {
		return fmt.Errorf("etcd: %s: %w", l.s.lockKey, ErrLockLost)
	}
	return nil
}

// save is Save (storage.SharedLock.Save, which keeps a failed save in the
// pending file): one transaction that succeeds only while the lock key is
// still attached to our lease and the record is still the revision Read
// returned; when it fails, nothing is written to etcd. It returns the
// revision it meant to replace.
func (l *locked) save(ctx context.Context, data []byte) (int64, error) {
	seen, err := l.Base(ctx)
	if err != nil {
		return seen, err
	}
	lockKey, recKey := []byte(l.s.lockKey), []byte(l.s.recordKey)
	octx, cancel := l.s.bounds.Save(ctx)
	defer cancel()
	r, err := l.s.o.Client.Txn(octx, TxnRequest{
		Compare: l.stillOurs(seen),
		Success: []RequestOp{{Put: &PutRequest{Key: recKey, Value: data}}},
		Failure: []RequestOp{{Range: &RangeRequest{Key: lockKey}}, {Range: &RangeRequest{Key: recKey}}},
	})
	if err != nil {
		return seen, fmt.Errorf("etcd: save %s: %w", l.s.Name(), err)
	}
	if !r.Succeeded {
		if err := l.whyNot(r, data); err != nil {
			return seen, fmt.Errorf("etcd: save %s: %w", l.s.Name(), err)
		}
	}
	l.Wrote(int64(r.Header.Revision), data)
	l.s.files.WriteCopy(data)
	return seen, nil
}

// stillOurs is the condition of every write under the lock: the lock key still
// carries this holder's lease, and the record is the revision it read.
func (l *locked) stillOurs(seen int64) []Compare {
	return []Compare{
		{Result: "EQUAL", Target: "LEASE", Key: []byte(l.s.lockKey), Lease: rev(l.lease)},
		{Result: "EQUAL", Target: "MOD", Key: []byte(l.s.recordKey), ModRevision: rev(seen)},
	}
}

// whyNot explains a failed save transaction; nil when the record already
// holds data under our lock (an earlier attempt of ours succeeded and its
// answer was lost).
func (l *locked) whyNot(r *TxnResponse, data []byte) error {
	lockKV := firstKV(r)
	if lockKV == nil || int64(lockKV.Lease) != l.lease {
		l.MarkLost()
		return ErrLockLost
	}
	if len(r.Responses) > 1 && r.Responses[1].Range != nil && len(r.Responses[1].Range.Kvs) > 0 &&
		bytes.Equal(r.Responses[1].Range.Kvs[0].Value, data) {
		return nil
	}
	return ErrRecordChanged
}

// SetAside moves an unreadable record to PREFIX/<profile>/corrupt-<UTC
// time> in one transaction (under our lock, if still the revision read)
// and returns that key's URL.
func (l *locked) SetAside(ctx context.Context, now time.Time) (string, error) {
	return l.SetAsideAs(ctx, "corrupt", now)
}

// SetAsideAs is SetAside to PREFIX/<profile>/<label>-<UTC time>: "pulled"
// when the record moved to a host's file (tokenkeeper store pull).
func (l *locked) SetAsideAs(ctx context.Context, label string, now time.Time) (string, error) {
	seen, data := l.Seen()
	aside := l.s.base + label + "-" + now.UTC().Format("20060102T150405.000000000Z")
	recKey, lockKey := []byte(l.s.recordKey), []byte(l.s.lockKey)
	octx, cancel := l.s.bounds.Save(ctx)
	defer cancel()
	r, err := l.s.o.Client.Txn(octx, TxnRequest{
		Compare: l.stillOurs(seen),
		Success: []RequestOp{{Put: &PutRequest{Key: []byte(aside), Value: data}}, {DeleteRange: &DeleteRangeRequest{Key: recKey}}},
		Failure: []RequestOp{{Range: &RangeRequest{Key: lockKey}}},
	})
	if err != nil {
		return "", fmt.Errorf("etcd: set aside %s: %w", l.s.Name(), err)
	}
	if !r.Succeeded {
		if kv := firstKV(r); kv == nil || int64(kv.Lease) != l.lease {
			return "", fmt.Errorf("etcd: set aside %s: %w", l.s.Name(), ErrLockLost)
		}
		return "", fmt.Errorf("etcd: set aside %s: %w", l.s.Name(), ErrRecordChanged)
	}
	l.Wrote(0, nil)
	l.s.files.DropCopy()
	return l.s.endpointsForMessage + aside, nil
}

// Unlock stops the keep-alive and revokes the lease, which deletes the lock
// key; if etcd cannot be told, the lease runs out by itself within its TTL.
func (l *locked) Unlock() error {
	return l.Release(func(bool) error {
		ctx, cancel := l.s.bounds.Release()
		defer cancel()
		if err := l.s.o.Client.Revoke(ctx, l.lease); err != nil {
			return fmt.Errorf("etcd: unlock %s (the lease will run out by itself): %w", l.s.lockKey, err)
		}
		return nil
	})
}
