package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// CreateFile writes data to a new file at path (mode 0600, on Windows a DACL
// of this user only; missing parent directories 0700) and reports whether it did. An existing file, whatever it
// holds, is left alone and reported as created=false with a nil error; O_EXCL
// makes this hold against a concurrent creator too. A failed write removes the
// file it created, so that no torn file is left to be read later.
func CreateFile(path string, data []byte) (created bool, err error) {
	path, err = filepath.Abs(path)
	if err != nil {
		return false, fmt.Errorf("storage: create %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
		return false, fmt.Errorf("storage: create %s: %w", path, err)
	}
	f, err := createPrivate(path)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path) // ours (O_EXCL)
		return false, fmt.Errorf("storage: create %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return true, nil
}
