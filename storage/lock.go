package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofrs/flock"
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
	fl   *flock.Flock

	mu       sync.Mutex
	released bool
}

// AcquireLock takes an exclusive flock(2) on the lock file at path (created
// 0600, with its directory 0700, if missing), waiting at most timeout and no
// longer than ctx allows; timeout <= 0 means try once. Once held, holder (e.g.
// "pid=1234 cmd=tokenkeeper token since=2026-11-21T23:00:00Z") is written into
// the file so that a waiter that gives up can say who holds it.
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
	// O_RDWR rather than flock's default O_RDONLY: NFSv4 emulates flock
	// with fcntl locks, which need a writable descriptor for LOCK_EX.
	fl := flock.New(abs, flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(fileMode))
	start := time.Now()
	ok, err := waitLock(ctx, fl, timeout)
	switch {
	case ok:
		l := &Lock{path: abs, fl: fl}
		l.writeHolder(holder + "\n")
		return l, nil
	case err == nil, errors.Is(err, context.DeadlineExceeded):
		return nil, &LockBusyError{Path: abs, Holder: readHolder(abs), Waited: time.Since(start)}
	default:
		return nil, fmt.Errorf("storage: lock %s: %w", abs, err)
	}
}

// waitLock tries once, then retries until timeout or ctx ends. A
// context.DeadlineExceeded error (ours or the caller's) means the lock
// stayed busy.
func waitLock(ctx context.Context, fl *flock.Flock, timeout time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ok, err := fl.TryLock()
	if ok || err != nil || timeout <= 0 {
		return ok, err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fl.TryLockContext(wctx, lockRetry)
}

// writeHolder replaces the lock file's informational content. It goes
// through a second descriptor, which does not disturb the flock held on the
// first (flock locks belong to the open file description). Errors are
// ignored: the text only improves a message.
//
// The text is written in place as a fixed-size record padded with spaces,
// never by truncating the file: on ext4 a truncate-to-zero followed by a
// write makes the close force block allocation and write-back (the
// replace-via-truncate heuristic, auto_da_alloc), and with two holder writes
// per renewal that made `refresh --all` several times slower.
func (l *Lock) writeHolder(text string) {
	f, err := os.OpenFile(l.path, os.O_WRONLY, fileMode)
	if err != nil {
		return
	}
	_, _ = f.WriteAt(holderRecord(text), 0)
	_ = f.Close()
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
// printable characters: the file is outside input that goes into a message.
func readHolder(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxHolderLen))
	return cleanHolder(b)
}

// cleanHolder makes a lock file's content one line of printable characters.
func cleanHolder(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(string(b)))
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
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("storage: unlock %s: %w", l.path, err)
	}
	l.released = true
	return nil
}
