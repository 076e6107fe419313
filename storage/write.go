package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	fileMode os.FileMode = 0o600
	dirMode  os.FileMode = 0o700
)

// WriteFile replaces the file at path with data, atomically: a temporary file
// in the same directory (mode 0600) is written, fsynced and renamed over path,
// then the directory is fsynced so the rename itself survives a crash. A
// reader, or a crash at any instant, sees the old content or the new, never a
// torn file. Missing parent directories are created with mode 0700. When path
// is a symbolic link, its target is replaced and the link kept.
func WriteFile(path string, data []byte) error {
	target, err := writeTarget(path)
	if err != nil {
		return fmt.Errorf("storage: save %s: %w", path, err)
	}
	return ReplaceFile(target, data)
}

// ReplaceFile is WriteFile for a file that only tokenkeeper writes (the etcd
// store's read copy and pending file): path itself is replaced, a symbolic
// link there included; a link is never followed to write its target.
func ReplaceFile(path string, data []byte) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("storage: save %s: %w", path, err)
	}
	if err := writeAtomic(abs, data, fileMode, true); err != nil {
		return fmt.Errorf("storage: save %s: %w", abs, err)
	}
	return nil
}

// WriteReadable is ReplaceFile for a file other users read (mode 0644): a
// metrics textfile that node_exporter, running as its own user, collects. Its
// directory must exist: whose it is and who may read it are the owner's
// choice. path itself is replaced; a symbolic link there is not followed.
func WriteReadable(path string, data []byte) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("storage: save %s: %w", path, err)
	}
	if err := writeAtomic(abs, data, 0o644, false); err != nil {
		return fmt.Errorf("storage: save %s: %w", abs, err)
	}
	return nil
}

// writeAtomic replaces path with data of mode through a temporary file beside
// it (replaceAtomic, one per platform), first creating the missing
// directories when mkdir.
func writeAtomic(path string, data []byte, mode os.FileMode, mkdir bool) error {
	dir := filepath.Dir(path)
	if mkdir {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return err
		}
	}
	return replaceAtomic(path, dir, data, mode)
}

// writeTarget makes path absolute and follows a symbolic link, so that a
// credentials file linked from a dotfiles repository stays a link.
func writeTarget(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if fi, err := os.Lstat(abs); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return abs, nil
	}
	if ferr := foreignLink(abs); ferr != nil {
		return "", ferr // planted: it would have the save replace a file it chose
	}
	return filepath.EvalSymlinks(abs)
}

// CheckSavable proves, before a refresh token that may rotate is spent, that
// a file of size bytes can be saved at path: it creates the directory if
// needed, then writes, fsyncs and removes a temporary file of that size
// beside path. A read-only file system, missing permission, full disk or
// file-size limit shows up here instead of after the old token is gone.
func CheckSavable(path string, size int) error {
	r, err := Reserve(path, size)
	r.Release()
	return err
}

// Reservation is space held for a save: the temporary file CheckSavable
// writes, kept (Reserve) until the save writes the record into its blocks
// (ReplaceReserved). Space merely checked can be taken by another writer
// while the token request is out, and a save that then fails loses the
// refresh token the request spent; space reserved cannot. A nil
// *Reservation holds nothing.
type Reservation struct{ path string }

// Reserve is CheckSavable that keeps its temporary file, for a save that
// follows (ReplaceReserved). Release it when no save comes.
func Reserve(path string, size int) (*Reservation, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("storage: cannot save %s: %w", path, err)
	}
	dir := filepath.Dir(abs)
	tmp, err := checkDir(dir, abs, size)
	if err != nil {
		return nil, fmt.Errorf("storage: cannot save in %s: %w", dir, err)
	}
	return &Reservation{path: tmp}, nil
}

// Release frees the space.
func (r *Reservation) Release() {
	if r != nil && r.path != "" {
		_ = os.Remove(r.path)
		r.path = ""
	}
}

// ReplaceReserved is ReplaceFile writing data into the blocks r holds (when
// it holds enough: see Reserve), which a disk that filled up since cannot
// refuse; r is used up either way. Where the reserved file cannot take the
// record (another platform's file rights, a file removed meanwhile), the
// space is freed first and ReplaceFile writes it.
func ReplaceReserved(path string, data []byte, r *Reservation) error {
	defer r.Release()
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("storage: save %s: %w", path, err)
	}
	if r != nil && r.path != "" {
		if err := replaceInto(r.path, abs, filepath.Dir(abs), data); err == nil {
			r.path = "" // renamed: nothing left to free
			return nil
		}
		r.Release()
	}
	return ReplaceFile(abs, data)
}

// checkDir writes, fsyncs and keeps a temporary file of size bytes in dir,
// named for path, and returns its name.
func checkDir(dir, path string, size int) (name string, err error) {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".check-*")
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if done, err := preallocate(f, max(size, 1)); done || err != nil {
		return f.Name(), err
	}
	// Zeros are enough: the point is that the blocks get allocated, which
	// the fsync forces even on file systems that allocate lazily.
	if _, err := f.Write(make([]byte, max(size, 1))); err != nil {
		return "", err
	}
	if err := f.Sync(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// MoveAside renames a file that cannot be used (e.g. an unparseable token
// file) to path+".corrupt-"+UTC timestamp, adding "-1", "-2"… if that name
// is taken, and returns the new path. The content is kept for a human to
// inspect, readable by its owner alone. Callers should hold the profile
// lock: the free-name check and the rename are two steps.
func MoveAside(path string, now time.Time) (string, error) {
	return MoveAsideAs(path, "corrupt", now)
}

// MoveAsideAs is MoveAside with another word than "corrupt" in the new name:
// path+"."+label+"-"+UTC timestamp (e.g. "pushed" when the record moved to a
// shared store).
func MoveAsideAs(path, label string, now time.Time) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("storage: move aside %s: %w", path, err)
	}
	base := abs + "." + label + "-" + now.UTC().Format("20060102T150405Z")
	dest := base
	for i := 1; ; i++ {
		if _, err := os.Lstat(dest); os.IsNotExist(err) {
			break
		}
		if i > 1000 {
			return "", fmt.Errorf("storage: move aside %s: too many files named %s-N", abs, base)
		}
		dest = base + "-" + strconv.Itoa(i)
	}
	// What is set aside holds a grant (a refresh token, the live one maybe)
	// and stays until a person removes it: readable by its owner alone, as
	// a save would have left it, whatever mode a hand gave the file.
	_ = os.Chmod(abs, 0o600) // best effort: a file of another user's is refused before
	if err := os.Rename(abs, dest); err != nil {
		return "", fmt.Errorf("storage: move aside %s: %w", abs, err)
	}
	_ = syncDir(filepath.Dir(abs)) // best effort: the move itself succeeded
	return dest, nil
}

// RemoveTemps removes the temporary files that a process killed while saving
// path, or while checking that it could (CheckSavable), left beside it: "."
// plus path's name plus digits, or plus ".check-" and digits. Nothing reads
// them, but each may hold up to a CheckSavable's worth of blocks, and on a
// nearly full disk those are the blocks the next save needs.
//
// Call it only while holding the lock that every writer of path holds: a
// temporary file of a writer that is still alive would otherwise be pulled
// from under it. It returns the names it removed; it fails only if the
// directory cannot be read or a file found cannot be removed.
func RemoveTemps(path string) ([]string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("storage: clean up beside %s: %w", path, err)
	}
	dir, base := filepath.Split(abs)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: clean up %s: %w", dir, err)
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTemp(e.Name(), base) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("storage: clean up %s: %w", p, err)
		}
		removed = append(removed, p)
	}
	return removed, nil
}

// isTemp reports whether name is one of the temporary files of base: renameio
// names them "."+base+digits, CheckSavable "."+base+".check-"+digits.
func isTemp(name, base string) bool {
	rest, ok := strings.CutPrefix(name, "."+base)
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, ".check-")
	if rest == "" {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
