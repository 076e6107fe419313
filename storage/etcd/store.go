package etcd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	// health check end by it too (a save does not: storage.Bounds.Save).
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
	files               *storage.HostFiles // the read copy and the pending file
	bounds              storage.Bounds
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
	s := &Store{o: o, base: base, recordKey: base + "record", lockKey: base + "lock",
		endpointsForMessage: o.Client.cfg.hostsURL(), bounds: storage.Bounds{Timeout: o.Timeout, Budget: o.Budget}}
	// A pending file names the store it was written for, but is pushed
	// whatever it names: etcd's name of a store changes with the order of
	// its endpoints.
	s.files = &storage.HostFiles{Copy: o.CopyFile, Pending: o.PendingFile, Store: s.Name(),
		BaseKey: "base_revision", Max: maxRecord, What: "etcd", Version: "revision", Warn: o.Warn}
	return s, nil
}

// Name is the record's URL: etcd://HOSTS/PREFIX/<profile>/record.
func (s *Store) Name() string { return s.endpointsForMessage + s.recordKey }

// LockName is the lock key's URL, as messages show it.
func (s *Store) LockName() string { return s.endpointsForMessage + s.lockKey }

// CopyFile is this host's read copy of the record.
func (s *Store) CopyFile() string { return s.o.CopyFile }

// Read returns the record without the lock (storage.HostFiles.Read: a
// pending answer first, then the host's read copy, else the store).
func (s *Store) Read(ctx context.Context) ([]byte, error) {
	return s.files.Read(ctx, s, s.bounds.Timeout, s.Fetch)
}

// Fetch reads the record from etcd (linearizable) and refreshes the read
// copy; a missing record is an error matching fs.ErrNotExist.
func (s *Store) Fetch(ctx context.Context) ([]byte, error) {
	octx, cancel := s.bounds.Op(ctx)
	defer cancel()
	kv, _, err := s.o.Client.Get(octx, s.recordKey)
	if err != nil {
		return nil, fmt.Errorf("etcd: read %s: %w", s.Name(), err)
	}
	if kv == nil {
		_ = storage.RemoveIfExists(s.o.CopyFile)
		return nil, fmt.Errorf("etcd: %s: %w", s.Name(), fs.ErrNotExist)
	}
	data := s.files.Cap(kv.Value)
	s.files.WriteCopy(data)
	return data, nil
}
