package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/windows"
)

// replaceAtomic on Windows, where renameio does not work: a temporary file
// beside path (named as renameio names it, so that RemoveTemps finds it),
// written and flushed to disk, then moved over path with MoveFileEx
// (REPLACE_EXISTING: atomic on NTFS; WRITE_THROUGH: returns once the move is
// on disk). A reader that has path open without FILE_SHARE_DELETE makes the
// move fail with access denied for as long as it holds it, so the move is
// retried for a moment (shareRetry). Windows keeps access rights in the file's
// ACL, not in mode: a private file (mode 0600) gets a DACL of this user only
// (createPrivate); any other keeps what it inherits from the directory.
func replaceAtomic(path, dir string, data []byte, mode os.FileMode) error {
	f, err := createTemp(dir, "."+filepath.Base(path), mode == fileMode)
	if err != nil {
		return err
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil { // FlushFileBuffers
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	from, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return err
	}
	to, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	err = retryShared(func() error {
		return windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
	})
	if err != nil {
		return &fs.PathError{Op: "replace", Path: path, Err: err}
	}
	done = true
	return nil
}

// createTemp creates prefix followed by digits in dir, exclusively; with
// private, for this user only (createPrivate), else with the access the
// directory gives.
func createTemp(dir, prefix string, private bool) (*os.File, error) {
	seed := uint64(time.Now().UnixNano()) ^ uint64(os.Getpid())<<32
	for range 1000 {
		seed = seed*6364136223846793005 + 1442695040888963407
		name := filepath.Join(dir, prefix+strconv.FormatUint(seed>>33, 10))
		open := func(name string) (*os.File, error) { return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644) }
		if private {
			open = createPrivate
		}
		f, err := open(name)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("no free temporary name beside %s in %s", prefix[1:], dir)
}

// syncDir does nothing on Windows: a directory cannot be flushed there (access
// denied), and MOVEFILE_WRITE_THROUGH already makes the move durable.
func syncDir(string) error { return nil }

// replaceInto is not done on Windows: CheckSavable's file has the rights the
// directory gives, not the user-only DACL of a private file
// (createPrivate), so the record is written to a file of its own.
func replaceInto(tmp, path, dir string, data []byte) error { return errors.ErrUnsupported }
