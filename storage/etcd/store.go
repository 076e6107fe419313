package etcd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// maxRecord is the cap on a record (docs/contract.md §1), the same as on a token file: a
// longer one is returned cut, fails to parse and is set aside like a corrupt
// file.
const maxRecord = storage.MaxFileSize

// MinLeaseTTL is the shortest lease the store asks for (storage.MinLeaseTTL).
const MinLeaseTTL = storage.MinLeaseTTL

// LeaseTTL is the lock lease's time to live: storage.LeaseTTL, the rule of
// every shared store.
func LeaseTTL(timeout, lockTimeout time.Duration) time.Duration {
	return storage.LeaseTTL(timeout, lockTimeout)
}

// ErrLockLost is returned by Save when the lock's lease ran out (or the lock
// key was deleted) before the save: nothing was written to the store.
var ErrLockLost = errors.New("etcd: the lock was lost before the save (its lease ran out)")

// ErrRecordChanged is returned by Save when the record is no longer the
// revision that Read returned: nothing was written to the store.
var ErrRecordChanged = errors.New("etcd: the record changed since it was read")

// Options configure a Store for one profile.
type Options struct {
	Client  *Client
	Profile string
	// CopyFile is the host's read copy of the record (in the profile's
	// state directory), PendingFile where an answer that could not be saved
	// to etcd waits to be pushed. Both are written 0600 through
	// storage.ReplaceFile and read through storage.ReadRecord: a symbolic
	// link at either is never followed.
	CopyFile, PendingFile string
	// Timeout bounds every operation on etcd (the lifecycle's --timeout):
	// an unreachable store is given up after it.
	Timeout time.Duration
	// Budget, when set, is the run's one deadline: reads, the lock and the
	// health check end by it too (a save does not: see saveContext).
	Budget *storage.Budget
	// LeaseTTL is the lock's lease (see LeaseTTL).
	LeaseTTL time.Duration
	// Warn receives what the user should know but is not an error (a
	// pending answer that could not be pushed). May be nil.
	Warn func(msg string)
}

// Store keeps a profile's record in etcd at PREFIX/<profile>/record; it
// implements storage.Store.
type Store struct {
	o                   Options
	base                string // PREFIX/<profile>/
	recordKey, lockKey  string
	endpointsForMessage string
}

// New makes the store of one profile.
func New(o Options) (*Store, error) {
	if o.Client == nil || o.Profile == "" || o.CopyFile == "" || o.PendingFile == "" {
		return nil, errors.New("etcd: store needs a client, a profile, a copy file and a pending file")
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = LeaseTTL(o.Timeout, 0)
	}
	base := o.Client.cfg.Prefix + "/" + o.Profile + "/"
	return &Store{o: o, base: base, recordKey: base + "record", lockKey: base + "lock",
		endpointsForMessage: o.Client.cfg.hostsURL()}, nil
}

// Name is the record's URL: etcd://HOSTS/PREFIX/<profile>/record.
func (s *Store) Name() string { return s.endpointsForMessage + s.recordKey }

// LockName is the lock key's URL, as messages show it.
func (s *Store) LockName() string { return s.endpointsForMessage + s.lockKey }

// CopyFile is this host's read copy of the record.
func (s *Store) CopyFile() string { return s.o.CopyFile }

// opContext bounds one operation by Timeout and by the run's Budget.
func (s *Store) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	bctx, stop := s.o.Budget.Bound(ctx)
	octx, cancel := context.WithTimeout(bctx, s.o.Timeout)
	return octx, func() { cancel(); stop() }
}

// saveContext bounds a write by Timeout alone: the answer it saves may hold
// the only copy of a rotated refresh token, and is worth the time even when
// the run's budget has run out (the pending file is what a failure leaves).
func (s *Store) saveContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.o.Timeout)
}

// Read returns the record without the lock: an answer waiting in the pending
// file is pushed first (under the lock); then the host's read copy is
// served when there is one (no network); else the record is fetched from
// etcd and the copy written.
func (s *Store) Read(ctx context.Context) ([]byte, error) {
	if pending, _, err := s.readPending(); err == nil {
		if perr := s.pushPendingLocked(ctx); perr != nil {
			s.warn(fmt.Sprintf("an answer saved in %s could not be pushed to %s yet: %v", s.o.PendingFile, s.Name(), perr))
			return pending, nil
		}
	}
	if data, err := storage.ReadRecord(s.o.CopyFile); err == nil {
		return data, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return s.Fetch(ctx)
}

// Fetch reads the record from etcd (linearizable) and refreshes the read
// copy; a missing record is an error matching fs.ErrNotExist.
func (s *Store) Fetch(ctx context.Context) ([]byte, error) {
	octx, cancel := s.opContext(ctx)
	defer cancel()
	kv, _, err := s.o.Client.Get(octx, s.recordKey)
	if err != nil {
		return nil, fmt.Errorf("etcd: read %s: %w", s.Name(), err)
	}
	if kv == nil {
		_ = removeIfExists(s.o.CopyFile)
		return nil, fmt.Errorf("etcd: %s: %w", s.Name(), fs.ErrNotExist)
	}
	data := capRecord(kv.Value)
	s.writeCopy(data)
	return data, nil
}

func capRecord(v []byte) []byte {
	if len(v) > maxRecord {
		return v[:maxRecord]
	}
	return v
}

// writeCopy keeps the host's read copy equal to what etcd holds. The copy is
// never the only copy of anything, so a failure to write it is not an
// error; a copy that could not be replaced is removed so that it cannot go
// on serving an older record.
func (s *Store) writeCopy(data []byte) {
	if old, err := storage.ReadRecord(s.o.CopyFile); err == nil && bytes.Equal(old, data) {
		return
	}
	if err := storage.ReplaceFile(s.o.CopyFile, data); err != nil {
		_ = removeIfExists(s.o.CopyFile)
		s.warn(fmt.Sprintf("the read copy %s could not be written: %v", s.o.CopyFile, err))
	}
}

func (s *Store) warn(msg string) {
	if s.o.Warn != nil {
		s.o.Warn(msg)
	}
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// pending is the pending file: an answer whose save to etcd failed, with the
// record revision it was meant to replace.
type pending struct {
	Store        string `json:"store"`         // Name() of the store it belongs to
	BaseRevision int64  `json:"base_revision"` // mod_revision of the record it replaces (0: none)
	Record       []byte `json:"record"`        // the record, base64
}

func (s *Store) readPending() ([]byte, int64, error) {
	data, err := storage.ReadRecord(s.o.PendingFile)
	if err != nil {
		return nil, 0, err
	}
	var p pending
	if err := json.Unmarshal(data, &p); err != nil || len(p.Record) == 0 {
		return nil, 0, fmt.Errorf("etcd: pending file %s is not one tokenkeeper wrote", s.o.PendingFile)
	}
	return capRecord(p.Record), p.BaseRevision, nil
}

// writePending keeps data in the pending file, unless that file would be
// larger than storage.ReadRecord reads whole (the record is base64, 4/3 of
// its size): one cut on reading would never parse, so never be pushed.
func (s *Store) writePending(data []byte, base int64) error {
	b, _ := json.Marshal(pending{Store: s.Name(), BaseRevision: base, Record: data})
	if len(b) > storage.MaxFileSize {
		return fmt.Errorf("etcd: a pending file of %d bytes would be larger than %d", len(b), storage.MaxFileSize)
	}
	return storage.ReplaceFile(s.o.PendingFile, b)
}

// pendingLockWait bounds the wait for the lock when a lock-free Read finds a
// pending answer: if another process holds it, the pending answer is served
// and pushed by a later run.
const pendingLockWait = 2 * time.Second

// pushPendingLocked takes the lock briefly to push the pending answer.
func (s *Store) pushPendingLocked(ctx context.Context) error {
	l, err := s.Lock(ctx, min(s.o.Timeout, pendingLockWait), "tokenkeeper (pushing a pending answer)")
	if err != nil {
		return err
	}
	defer l.Unlock()
	if _, _, err := s.readPending(); errors.Is(err, fs.ErrNotExist) {
		return nil // Lock pushed it
	}
	return errors.New("still pending")
}

// pushPending runs under the lock, first thing: the pending answer replaces
// the record if the record is still the one the answer was meant to
// replace. If another holder has saved since, the store has moved on: the
// pending answer is kept aside (never deleted) and a warning names it.
func (l *locked) pushPending(ctx context.Context) error {
	data, base, err := l.s.readPending()
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := l.Read(ctx); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if l.seen != base {
		moved, err := storage.MoveAsideAs(l.s.o.PendingFile, "stale", time.Now())
		if err != nil {
			return err
		}
		l.s.warn(fmt.Sprintf("the answer pending in %s was not pushed: %s changed since (revision %d, not %d); it is kept in %s", l.s.o.PendingFile, l.s.Name(), l.seen, base, moved))
		return nil
	}
	if err := l.save(ctx, data, false); err != nil {
		return err
	}
	return removeIfExists(l.s.o.PendingFile)
}
