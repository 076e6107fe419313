package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// ErrLockBusy is matched (errors.Is) by *LockBusyError.
var ErrLockBusy = errors.New("storage: lock busy")

// lockRetry is how often a waiter retries flock(LOCK_NB): short enough that a
// stampede of waiters follows the holder closely, long enough to cost nothing.
const lockRetry = 10 * time.Millisecond

// maxHolderLen bounds what is read back from a lock file into a message.
const maxHolderLen = 512

// holderSize is the size of the holder record (see writeHolder).
const holderSize = 256

// LockBusyError is returned by AcquireLock when the lock stayed held for the
// whole wait.
type LockBusyError struct {
	Path   string        // the lock file
	Holder string        // what the holder wrote, e.g. "pid=1234 cmd=… since=…"; "" if unknown
	Waited time.Duration // how long AcquireLock waited
}

func (e *LockBusyError) Error() string {
	holder := e.Holder
	if holder == "" {
		holder = "another process (no holder recorded)"
	}
	return fmt.Sprintf("storage: lock busy: %s held by %s (waited %s)", e.Path, holder, roundWait(e.Waited))
}

// Is makes errors.Is(err, ErrLockBusy) true.
func (e *LockBusyError) Is(target error) bool { return target == ErrLockBusy }

func roundWait(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// Lock is a held cross-process lock; release it with Unlock.
type Lock struct {
	path string
	f    *os.File // holds the flock; closing it releases the lock

	mu       sync.Mutex
	released bool
}

// AcquireLock takes an exclusive flock(2) on the lock file at path (created
// 0600, with its directory 0700, if missing), waiting at most timeout and no
// longer than ctx allows; timeout <= 0 means try once. Once held, holder (e.g.
// "pid=1234 cmd=tokenkeeper token since=2026-11-21T23:00:00Z") is written into
// the file so that a waiter that gives up can say who holds it.
//
// The lock file is opened without following a symbolic link and must be a
// regular file owned by this user: a link planted in a shared directory would
// otherwise have the holder record written into whatever it points to. Anything
// else is a *RecordError, before any lock is taken.
//
// A wait that runs out, by timeout or by ctx's deadline, returns
// *LockBusyError naming the holder; a cancelled ctx returns an error wrapping
// context.Canceled.
//
// The lock file is never deleted, not even by Unlock: if it were, a process
// that opened the old file and one that created a new one would each lock a
// different inode, and both would believe they hold the lock. The kernel
// releases the lock when its holder exits, however it exits, so a stale file
// is harmless.
func AcquireLock(ctx context.Context, path string, timeout time.Duration, holder string) (*Lock, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("storage: lock %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), dirMode); err != nil {
		return nil, fmt.Errorf("storage: lock %s: %w", abs, err)
	}
	// O_RDWR: the holder record is written through this descriptor, and NFSv4
	// emulates flock with fcntl locks, which need it for LOCK_EX.
	fd, _, err := openRegular(abs, os.O_RDWR|os.O_CREATE, uint32(fileMode), true)
	var re *RecordError
	if errors.As(err, &re) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("storage: lock %s: %w", abs, errors.Unwrap(err))
	}
	f := os.NewFile(uintptr(fd), abs)
	start := time.Now()
	ok, err := waitLock(ctx, f, timeout)
	switch {
	case ok:
		l := &Lock{path: abs, f: f}
		l.writeHolder(holder + "\n")
		return l, nil
	case err == nil, errors.Is(err, context.DeadlineExceeded):
		f.Close()
		return nil, &LockBusyError{Path: abs, Holder: readHolder(abs), Waited: time.Since(start)}
	default:
		f.Close()
		return nil, fmt.Errorf("storage: lock %s: %w", abs, err)
	}
}

// waitLock tries once, then retries every lockRetry until timeout or ctx ends.
// A context.DeadlineExceeded error (ours or the caller's) means the lock
// stayed busy.
func waitLock(ctx context.Context, f *os.File, timeout time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ok, err := tryLock(f)
	if ok || err != nil || timeout <= 0 {
		return ok, err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(lockRetry)
	defer t.Stop()
	for {
		select {
		case <-wctx.Done():
			return false, wctx.Err()
		case <-t.C:
		}
		if ok, err := tryLock(f); ok || err != nil {
			return ok, err
		}
	}
}

// writeHolder replaces the lock file's informational content, through the
// descriptor that holds the lock: never through the path, which another
// process could have replaced by a link since. Errors are ignored: the text
// only improves a message.
//
// The text is written in place as a fixed-size record padded with spaces,
// never by truncating the file: on ext4 a truncate-to-zero followed by a
// write makes the close force block allocation and write-back (the
// replace-via-truncate heuristic, auto_da_alloc), and with two holder writes
// per renewal that made `refresh --all` several times slower.
func (l *Lock) writeHolder(text string) {
	_, _ = l.f.WriteAt(holderRecord(text), 0)
}

// holderRecord is text on one line, cut and padded to holderSize bytes.
func holderRecord(text string) []byte {
	rec := bytes.Repeat([]byte{' '}, holderSize)
	text = strings.TrimSpace(text)
	if len(text) > holderSize-1 {
		text = text[:holderSize-1]
	}
	copy(rec, text)
	rec[holderSize-1] = '\n'
	return rec
}

// readHolder returns the holder text of a lock file, reduced to one line of
// printable characters: the file is outside input that goes into a message. It
// is read like the lock file is opened: no link followed, a regular file of this
// user only.
func readHolder(path string) string {
	b, err := readFile(path, true)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return ""
	}
	if len(b) > maxHolderLen {
		b = b[:maxHolderLen]
	}
	return cleanHolder(b)
}

// cleanHolder makes a lock file's content one line of printable characters
// (redact.Line).
func cleanHolder(b []byte) string {
	return redact.Line(string(b), maxHolderLen)
}

// Unlock releases the lock. The holder text is cleared first so that a
// waiter does not blame a process that has gone; the file itself stays (see
// AcquireLock). Calling Unlock again, or on a nil *Lock, does nothing.
func (l *Lock) Unlock() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return nil
	}
	l.writeHolder("")
	l.released = true
	// Closing the only descriptor of this open file description releases the
	// flock.
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("storage: unlock %s: %w", l.path, err)
	}
	return nil
}

func (l *Lock) isReleased() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.released
}
