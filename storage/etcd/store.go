package etcd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// ErrLockLost is returned by Save when the lock's lease ran out (or the lock
// key was deleted) before the save: nothing was written to the store.
var ErrLockLost = errors.New("etcd: the lock was lost before the save (its lease ran out)")

// ErrRecordChanged is returned by Save when the record is no longer the
// revision that Read returned: nothing was written to the store.
var ErrRecordChanged = errors.New("etcd: the record changed since it was read")

// Options configure a Store for one profile.
type Options struct {
	Client *Client
	storage.SharedOptions
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
	o.SharedOptions = o.WithDefaults()
	base := o.Client.cfg.Prefix + "/" + o.Profile + "/"
	s := &Store{o: o, base: base, recordKey: base + "record", lockKey: base + "lock",
		endpointsForMessage: o.Client.cfg.hostsURL(), bounds: o.Bounds()}
	// A pending file names the store it was written for, but is pushed
	// whatever it names: etcd's name of a store changes with the order of
	// its endpoints.
	s.files = o.HostFiles(storage.HostFiles{Store: s.Name(), BaseKey: "base_revision", What: "etcd", Version: "revision"})
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
		s.files.DropCopy()
		return nil, fmt.Errorf("etcd: %s: %w", s.Name(), fs.ErrNotExist)
	}
	data := s.files.Cap(kv.Value)
	s.files.WriteCopy(data)
	return data, nil
}
