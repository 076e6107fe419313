//go:build unix

package storage

import (
	"errors"
	"os"
	"syscall"

	"github.com/google/renameio/v2"
)

// replaceAtomic on Unix: renameio's pending file, renamed over path, then the
// directory fsynced.
func replaceAtomic(path, dir string, data []byte, mode os.FileMode) error {
	// WithTempDir keeps the temporary file beside path: renameio would
	// otherwise probe os.TempDir, which is extra work and may be another
	// file system.
	t, err := renameio.NewPendingFile(path, renameio.WithTempDir(dir),
		renameio.WithStaticPermissions(mode))
	if err != nil {
		return err
	}
	defer t.Cleanup() // removes the temporary file unless replaced
	if _, err := t.Write(data); err != nil {
		return err
	}
	if err := t.CloseAtomicallyReplace(); err != nil {
		return err
	}
	// renameio fsyncs the file but not the directory holding the new name.
	return syncDir(dir)
}

// syncDir makes a rename in dir durable. File systems that cannot fsync a
// directory (EINVAL, ENOTSUP) are not an error: the rename has happened.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// replaceInto writes data over the start of the reserved file tmp (its
// blocks already allocated), cuts it to data's length, fsyncs it, renames
// it over path and fsyncs the directory: replaceAtomic, in space that was
// set aside before.
func replaceInto(tmp, path, dir string, data []byte) error {
	f, err := os.OpenFile(tmp, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Truncate(int64(len(data)))
	}
	if err == nil {
		err = f.Chmod(fileMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}
