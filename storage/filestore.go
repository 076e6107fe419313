package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"
)

// FileStore is the Store of one profile's token file on the local file system:
// the default store, and the layout of the SAP Concur tutorial.
//
// The token file may be a symbolic link (a documented layout) to a regular file
// of this user. Everything is done to the resolved file: the lock is named after
// it (so two profile directories that reach one file through a link share one
// lock), the save check is made in its directory, a save replaces it and keeps
// the link, and a corrupt one is set aside beside it. A link whose target is
// missing is a *RecordError before anything else happens.
type FileStore struct {
	path string       // the token file as configured; may be a symbolic link
	log  *slog.Logger // nil: silent
}

// OpenFileStore returns the file store of the profile at p. log, when not nil,
// gets debug records of the clean-up before a save check.
func OpenFileStore(p Paths, log *slog.Logger) *FileStore {
	return &FileStore{path: p.TokenFile, log: log}
}

// Name is the resolved token file, or the configured path when it cannot be
// resolved.
func (s *FileStore) Name() string {
	if real, err := resolve(s.path); err == nil {
		return real
	}
	if abs, err := filepath.Abs(s.path); err == nil {
		return abs
	}
	return s.path
}

// LockFile is the lock file a Lock takes: the resolved token file's name plus
// LockSuffix, beside it.
func (s *FileStore) LockFile() (string, error) {
	real, err := resolve(s.path)
	if err != nil {
		return "", err
	}
	return real + LockSuffix, nil
}

// Read reads the token file without the lock (files are only ever replaced by
// rename, so it sees the old file or the new one). See Store.Read and ReadFile:
// a file larger than MaxFileSize comes back cut, and fails to parse.
func (s *FileStore) Read(ctx context.Context) ([]byte, error) {
	// The path as given first: open(2) follows the directories' links, and a
	// link in the last place is refused (O_NOFOLLOW) and resolved below. The
	// common case thus costs no lstat(2) per directory of the path.
	data, err := ReadRecord(s.path)
	if err == nil || !isLink(err) {
		return data, err
	}
	real, err := resolve(s.path)
	if err != nil {
		return nil, err
	}
	return ReadRecord(real)
}

// isLink tells whether err is ReadPrivate's refusal of a symbolic link.
func isLink(err error) bool {
	var re *RecordError
	return errors.As(err, &re) && re.link
}

// Lock takes flock(2) on the resolved token file's lock file (see AcquireLock).
func (s *FileStore) Lock(ctx context.Context, timeout time.Duration, holder string) (Locked, error) {
	real, err := resolve(s.path)
	if err != nil {
		return nil, err
	}
	l, err := AcquireLock(ctx, real+LockSuffix, timeout, holder)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(s.path)
	return &fileLocked{target: real, linked: real != abs, lock: l, log: s.log}, nil
}

// fileLocked is a FileStore while its lock is held.
type fileLocked struct {
	target string // the resolved token file
	linked bool   // the token file is a link to target
	lock   *Lock
	log    *slog.Logger
	// reserved is the space CheckSavable set aside, which Save writes the
	// record into: a disk that fills up while the token request is out
	// cannot then refuse the answer (and lose a refresh token it carries).
	reserved *Reservation
}

func (l *fileLocked) Read(ctx context.Context) ([]byte, error) { return ReadRecord(l.target) }

// CheckSavable first removes the temporary files that writers killed mid-save
// left beside the token file (every writer holds this lock, so none is in use):
// on a nearly full disk those are the blocks the check needs. Then see
// CheckSavable, in the resolved file's directory; the space stays reserved
// for the Save that follows (Reserve), or until Unlock.
func (l *fileLocked) CheckSavable(ctx context.Context, size int) error {
	l.reserved.Release()
	l.reserved = nil
	removed, err := RemoveTemps(l.target)
	for _, p := range removed {
		l.debug("removed a temporary file left by an interrupted run", "path", p)
	}
	if err != nil {
		l.debug("cleaning up", "err", err)
	}
	l.reserved, err = Reserve(l.target, size)
	return err
}

// Save replaces the resolved token file atomically (see ReplaceFile; target is
// no link, so a link to it stays a link, as WriteFile keeps it), in the space
// CheckSavable reserved when it did (ReplaceReserved).
func (l *fileLocked) Save(ctx context.Context, data []byte) error {
	if l.lock.isReleased() {
		return fmt.Errorf("storage: save %s: the lock was released", l.target)
	}
	r := l.reserved
	l.reserved = nil
	return ReplaceReserved(l.target, data, r)
}

// SetAside moves the resolved token file aside (see MoveAside). Behind a link, an
// empty record ("{}", as good as none) takes its place: the link must not be left
// dangling, which the next run would refuse, if this run gets no new token to
// save (the endpoint down, say).
func (l *fileLocked) SetAside(ctx context.Context, now time.Time) (string, error) {
	return l.SetAsideAs(ctx, "corrupt", now)
}

// SetAsideAs is SetAside with label for "corrupt" in the new name (see
// MoveAsideAs).
func (l *fileLocked) SetAsideAs(ctx context.Context, label string, now time.Time) (string, error) {
	moved, err := MoveAsideAs(l.target, label, now)
	if err == nil && l.linked {
		if werr := ReplaceFile(l.target, []byte("{}\n")); werr != nil {
			l.debug("could not leave an empty record behind the link", "path", l.target, "err", werr)
		}
	}
	return moved, err
}

// Expires is zero: a flock lasts until Unlock or the process's end.
func (l *fileLocked) Expires() time.Time { return time.Time{} }

func (l *fileLocked) Unlock() error {
	l.reserved.Release()
	l.reserved = nil
	return l.lock.Unlock()
}

func (l *fileLocked) debug(msg string, args ...any) {
	if l.log != nil {
		l.log.Debug(msg, args...)
	}
}

var _ Store = (*FileStore)(nil)
