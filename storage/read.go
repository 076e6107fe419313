package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MaxFileSize caps every file tokenkeeper reads: a credentials or token file is
// a few KiB, so anything much bigger is the wrong file and must not be slurped
// whole (a 2 GB sparse file, /dev/zero behind a link).
const MaxFileSize = 1 << 20

// ErrTooLarge is returned, with the file's first MaxFileSize bytes, by ReadFile
// for a larger file.
var ErrTooLarge = errors.New("larger than 1 MiB")

// ReadFile reads the file at path the way tokenkeeper reads every file: opened
// without blocking, so that a FIFO cannot hang the process; only a regular file
// (a FIFO, device, socket or directory is a *RecordError naming the path); at
// most MaxFileSize bytes. A larger file's first MaxFileSize bytes are returned
// together with an error matching ErrTooLarge. A symbolic link is followed; a
// missing file is an error matching fs.ErrNotExist, but a link to a missing
// file (or a loop of links) is a *RecordError saying so: "no such file" of a
// path that `ls` lists sends the user to create a file that cannot be created
// there (init answers that it exists).
func ReadFile(path string) ([]byte, error) {
	data, err := readFile(path, false)
	if err != nil && !errors.Is(err, fs.ErrPermission) {
		if lerr := brokenLink(path); lerr != nil {
			return nil, lerr
		}
	}
	return data, err
}

// ReadPrivate reads a file that only tokenkeeper writes (a token record, the
// lock file, serve's secret file): as ReadFile, but a symbolic link at path is
// refused, never followed, and so is a file of another user (*RecordError).
func ReadPrivate(path string) ([]byte, error) {
	return readFile(path, true)
}

// ReadRecord reads a token record that tokenkeeper keeps in a file (the token
// file once resolved; the etcd store's read copy and pending file): as
// ReadPrivate, but a file larger than MaxFileSize comes back cut to it without
// an error, so that it fails to parse and is set aside like any corrupt record
// (docs/contract.md §1).
func ReadRecord(path string) ([]byte, error) {
	data, err := ReadPrivate(path)
	if errors.Is(err, ErrTooLarge) {
		return data, nil
	}
	return data, err
}

// notRegular says what path is instead of a regular file.
func notRegular(path string, m fs.FileMode) *RecordError {
	what := "not a regular file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	hint := "move it away (mv " + shellQuote(path) + " " + shellQuote(path+".bad") + "); tokenkeeper reads and writes regular files only"
	if m&fs.ModeDevice != 0 || SystemPath(path) { // never a command that would move what the system needs
		hint = "name a regular file of your own instead; tokenkeeper reads and writes regular files only"
	}
	return &RecordError{Name: path, Msg: "is " + what + ", not a regular file", Hint: hint}
}

// SystemPath tells whether path lies where the system keeps its own files
// (/dev, /etc, /proc, /usr, …): a hint never offers to move or chmod one,
// even to a root user whose configuration names it by mistake.
func SystemPath(path string) bool {
	for _, dir := range []string{"/dev/", "/etc/", "/proc/", "/sys/", "/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/boot/", "/var/lib/"} {
		if strings.HasPrefix(filepath.ToSlash(filepath.Clean(path))+"/", dir) {
			return true
		}
	}
	return false
}

// resolve returns the absolute path that path names once symbolic links are
// followed. A missing path resolves through its directory (the file is yet to be
// created); a link whose target is missing is a *RecordError, because writing
// through it would create a file the user did not ask for, or fail after a
// refresh token was spent.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("storage: %s: %w", path, err)
	}
	if ferr := foreignLink(abs); ferr != nil {
		return "", ferr
	}
	real, err := filepath.EvalSymlinks(abs)
	if err == nil {
		return real, nil
	}
	if lerr := brokenLink(abs); lerr != nil {
		lerr.Hint += " to start a new token file"
		return "", lerr
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("storage: %s: %w", abs, err)
	}
	dir, base := filepath.Split(abs)
	if rdir, derr := filepath.EvalSymlinks(dir); derr == nil {
		return filepath.Join(rdir, base), nil
	}
	return abs, nil
}

// foreignLink returns the *RecordError of a path that is a symbolic link, or
// a chain of them, of which one belongs to another user than this one or
// root. Such a link is the one another user plants in a
// directory both may write to (a --dir in /tmp): followed, it would have this
// user's save replace, and its corrupt-file check move aside, whatever file
// of this user it names (a root's /etc/shadow). The kernel's
// protected_symlinks refuses the same links in sticky directories, but only
// to open(2): resolving a path by hand, as EvalSymlinks does, bypasses it.
func foreignLink(path string) *RecordError {
	p := path
	for range 40 { // the kernel's limit of links in a path
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return nil
		}
		// root's links are trusted: root needs no link to replace a file.
		// Not the directory's owner's, as the kernel's rule does: root
		// working in a directory of alice's would follow alice's link.
		if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() && uid != 0 {
			return &RecordError{Name: p,
				Msg:  fmt.Sprintf("is a symbolic link of another user (uid %d, not %d), which tokenkeeper does not follow", uid, os.Geteuid()),
				Hint: "remove it (rm " + shellQuote(p) + ") and keep the profile in a directory of your own: where others may write, anyone can plant a link"}
		}
		target, err := os.Readlink(p)
		if err != nil {
			return nil
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = target
	}
	return nil
}

// brokenLink returns the *RecordError of a path that is a symbolic link that
// leads to no file: its target is missing, or it is part of a loop of links
// (which is no passing problem: retrying, exit 75, would never mend it). nil
// when path is no link, or its target exists or cannot be reached for want of
// permission.
func brokenLink(path string) *RecordError {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return nil
	}
	target, _ := os.Readlink(path)
	rm := "remove the link (rm " + shellQuote(path) + ")"
	_, err = os.Stat(path)
	switch {
	case err == nil || errors.Is(err, fs.ErrPermission):
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return &RecordError{Name: path, Msg: fmt.Sprintf("is a symbolic link to %s, which does not exist", target),
			Hint: "restore the file it points to, or " + rm, gone: true}
	}
	return &RecordError{Name: path, Msg: fmt.Sprintf("is a symbolic link to %s, which leads to no file (a loop of links)", target),
		Hint: "point the link at a file (ln -sfn FILE " + shellQuote(path) + "), or " + rm}
}

// readCapped is readFile's loop for both platforms: it reads through read
// until it returns 0 bytes, into a buffer sized by the file's size as opened
// (size), and stops at MaxFileSize with ErrTooLarge.
func readCapped(path string, size int64, read func([]byte) (int, error)) ([]byte, error) {
	capacity := MaxFileSize
	if size >= 0 && size < int64(capacity) {
		capacity = int(size)
	}
	buf := make([]byte, 0, capacity+1) // +1: the EOF read of a file that grew
	for {
		n, err := read(buf[len(buf):cap(buf)])
		switch {
		case err != nil:
			return nil, fmt.Errorf("storage: read %s: %w", path, err)
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > MaxFileSize:
			return buf[:MaxFileSize], fmt.Errorf("storage: %s: %w", path, ErrTooLarge)
		case len(buf) == cap(buf):
			buf = append(buf, 0)[:len(buf)] // the file grew: make room
		}
	}
}
