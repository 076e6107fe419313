package kube

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// ErrLockLost is returned by Save when this process's Lease ran out (or
// was taken over) before the save: nothing was written.
var ErrLockLost = errors.New("kubernetes: the lock was lost before the save (its Lease ran out)")

// ErrRecordChanged is returned by Save when the Secret is no longer the
// resourceVersion that Read returned: nothing was written.
var ErrRecordChanged = errors.New("kubernetes: the record changed since it was read")

// Options configure a Store for one profile.
type Options struct {
	Client *Client
	storage.SharedOptions
}

// Store keeps a profile's record in the Secret PREFIX-<profile>, locked by
// the Lease of the same name; it implements storage.Store.
type Store struct {
	o      Options
	c      *Client
	name   string             // the objects' name
	files  *storage.HostFiles // the read copy and the pending file
	bounds storage.Bounds

	// The Lease as a waiter of this process last saw it change, and when:
	// it has expired once unchanged for its duration since (see Lock).
	mu     sync.Mutex
	seenRV string
	seenAt time.Time
}

// New makes the store of one profile; a profile whose name cannot name a
// Kubernetes object is a *storage.ConfigError.
func New(o Options) (*Store, error) {
	if o.Client == nil || o.Profile == "" || o.CopyFile == "" || o.PendingFile == "" {
		return nil, errors.New("kubernetes: store needs a client, a profile, a copy file and a pending file")
	}
	name, err := o.Client.cfg.ObjectName(o.Profile)
	if err != nil {
		return nil, &storage.ConfigError{Msg: err.Error(), Err: err,
			Hint: "use another profile name, or the file or etcd store for this profile"}
	}
	o.SharedOptions = o.WithDefaults()
	s := &Store{o: o, c: o.Client, name: name, bounds: o.Bounds()}
	s.files = o.HostFiles(storage.HostFiles{Store: s.Name(), CheckStore: true,
		BaseKey: "base_resource_version", What: "kubernetes", Version: "resourceVersion"})
	return s, nil
}

// Name is the Secret: k8s://NAMESPACE/secrets/PREFIX-<profile>.
func (s *Store) Name() string { return "k8s://" + s.c.cfg.Namespace + "/secrets/" + s.name }

// LockName is the Lease: k8s://NAMESPACE/leases/PREFIX-<profile>.
func (s *Store) LockName() string { return "k8s://" + s.c.cfg.Namespace + "/leases/" + s.name }

// CopyFile is this host's read copy of the record.
func (s *Store) CopyFile() string { return s.o.CopyFile }

// LockPoll: a waiter re-reads the record between one-second slices.
func (s *Store) LockPoll() time.Duration { return time.Second }

// Read returns the record without the lock (storage.HostFiles.Read: a
// pending answer first, then the host's read copy, else the store).
func (s *Store) Read(ctx context.Context) ([]byte, error) {
	return s.files.Read(ctx, s, s.bounds.Timeout, s.Fetch)
}

// Fetch reads the Secret and refreshes the read copy; a Secret that does
// not exist, or holds no record (one created empty by a manifest), is an
// error matching fs.ErrNotExist.
func (s *Store) Fetch(ctx context.Context) ([]byte, error) {
	octx, cancel := s.bounds.Op(ctx)
	defer cancel()
	data, _, err := s.fetch(octx)
	return data, err
}

// fetch returns the record and the Secret as read (nil when there is none).
func (s *Store) fetch(ctx context.Context) ([]byte, *secret, error) {
	sec, err := s.c.getSecret(ctx, s.name)
	if errors.Is(err, ErrNotFound) {
		s.files.DropCopy()
		return nil, nil, fmt.Errorf("kubernetes: %s: %w", s.Name(), fs.ErrNotExist)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes: read %s: %w", s.Name(), err)
	}
	rec, ok := sec.Data[dataKey]
	if !ok {
		s.files.DropCopy()
		return nil, sec, fmt.Errorf("kubernetes: %s (no %q in its data): %w", s.Name(), dataKey, fs.ErrNotExist)
	}
	data := s.files.Cap(rec)
	s.files.WriteCopy(data)
	return data, sec, nil
}
