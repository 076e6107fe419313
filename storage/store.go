package storage

import (
	"context"
	"time"
)

// Store keeps one profile's token record (the bytes of refreshTokenObjectFile.json)
// and the lock that serialises its renewal. It is the seam between the lifecycle
// (package refresh) and where the record lives: the file store of this package,
// or a shared store such as etcd (storage/etcd). A Store knows nothing of OAuth:
// it moves bytes and holds a lock.
//
// The lifecycle's use of it is always the same:
//
//	data, err := s.Read(ctx)              // lock-free: valid token → done
//	l, err := s.Lock(ctx, timeout, who)   // *LockBusyError when another holds it
//	defer l.Unlock()
//	data, err = l.Read(ctx)               // re-read under the lock
//	err = l.CheckSavable(ctx, 64<<10)     // before a refresh token is spent
//	err = l.Save(ctx, newData)            // only while the lock is still held
type Store interface {
	// Name is what messages show for the record: the resolved file path, or the
	// store's URL and key. It never contains a secret.
	Name() string
	// Read returns the record without taking the lock. A store that has none
	// returns an error for which errors.Is(err, fs.ErrNotExist) is true. A record
	// that cannot be a token record (not a regular file, another user's) is a
	// *RecordError; one larger than the cap is returned cut at the cap, and so
	// fails to parse and is set aside as corrupt (docs/contract.md §1). Every error names
	// the record (its path or key): callers do not repeat it.
	Read(ctx context.Context) ([]byte, error)
	// Lock takes the profile's lock, waiting at most timeout; a lock still held by
	// another when that runs out is a *LockBusyError. holder names this process
	// for the waiters' messages.
	Lock(ctx context.Context, timeout time.Duration, holder string) (Locked, error)
}

// Locked is a Store while its lock is held by this process.
type Locked interface {
	// Read re-reads the record under the lock; a later Save replaces exactly
	// what it returned (a shared store compares revisions).
	Read(ctx context.Context) ([]byte, error)
	// CheckSavable proves that a record of size bytes can be saved, before a
	// refresh token that may rotate is spent.
	CheckSavable(ctx context.Context, size int) error
	// Save replaces the record atomically. It fails, writing nothing, if the lock
	// was lost or the record changed since Read.
	Save(ctx context.Context, data []byte) error
	// SetAside moves an unreadable record out of the way (never deletes it) and
	// returns where it went.
	SetAside(ctx context.Context, now time.Time) (string, error)
	// SetAsideAs is SetAside under another word than "corrupt" in the new
	// name (label-<UTC time>), for a record moved for another reason than
	// damage: "logged-out" after logout.
	SetAsideAs(ctx context.Context, label string, now time.Time) (string, error)
	// Expires is when the lock may be lost without Unlock (a lease running out);
	// the zero time means never. The lifecycle sends no refresh request that may
	// outlast it.
	Expires() time.Time
	// Unlock releases the lock.
	Unlock() error
}

// RecordError is a record that exists but cannot be read as one (a directory, a
// FIFO, a device, not the user's own, a dangling link). Unlike a parse error,
// it is not set aside: the user must look at it.
type RecordError struct {
	Name string // the path (through links where one was followed) or key
	Msg  string // what is wrong, e.g. "is a FIFO, not a regular file"
	Hint string // what to do, e.g. "remove it: rm PATH"
	link bool   // a symbolic link refused by ReadPrivate, which FileStore.Read follows
	gone bool   // a symbolic link to a file that does not exist
}

// LinkToMissing tells whether the record is a symbolic link whose target does
// not exist: for a caller to whom a missing file is no error (a kubeconfig in
// a list of them, which kubectl skips when it is missing).
func (e *RecordError) LinkToMissing() bool { return e.gone }

func (e *RecordError) Error() string { return "storage: " + e.Name + ": " + e.Msg }
