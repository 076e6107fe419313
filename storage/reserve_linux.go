package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate asks the file system for size bytes of f at once. fallocate(2)
// fails with ENOSPC or EDQUOT right away when the space is not there, without
// writing the bytes or an fsync to force delayed allocation, which for
// `refresh --all` over thousands of profiles would be the costliest step of a
// renewal.
// done is false where the file system cannot preallocate; the caller then
// writes and fsyncs.
func preallocate(f *os.File, size int) (done bool, err error) {
	err = unix.Fallocate(int(f.Fd()), 0, 0, int64(size))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
		return false, nil
	}
	return false, err
}
