package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffset is where the one locked byte lies: far beyond the holder record.
// A Windows byte-range lock is mandatory, so locking the record itself would
// stop a waiter from reading who holds it.
const lockOffset = 1 << 62

// tryLock is LockFileEx(exclusive, fail immediately) on one byte of the lock
// file: false without error when another holds it. Closing the handle, or the
// holder's exit, releases it.
func tryLock(f *os.File) (bool, error) {
	ol := windows.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
	err := windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION), errors.Is(err, windows.ERROR_IO_PENDING):
		return false, nil
	}
	return false, err
}
