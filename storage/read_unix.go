//go:build unix

package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// handle is what openRegular returns: a file descriptor.
type handle = int

// readFile is ReadFile; with private, path must not be a symbolic link and the
// file must belong to this user (the token file once resolved, the lock file).
// It works on the descriptor with system calls, not through an *os.File:
// os would set up its poller (epoll and an eventfd, four system calls) for a
// descriptor opened O_NONBLOCK, which a regular file never needs, and this is
// the one file `tokenkeeper token` reads.
func readFile(path string, private bool) ([]byte, error) {
	fd, stSize, err := openRegular(path, syscall.O_RDONLY, 0, private)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	return readCapped(path, stSize, func(b []byte) (n int, err error) {
		err = retryEINTR(func() (err error) { n, err = syscall.Read(fd, b); return err })
		return n, err
	})
}

// openRegular is how tokenkeeper opens every file it reads or locks: without
// blocking (O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
// writer, for ever), and accepted only if fstat says it is a regular file. With
// private, a symbolic link is refused (O_NOFOLLOW) and so is a file of another
// user. O_NONBLOCK makes no difference to reading or writing a regular file, so
// it stays set. It returns the raw descriptor (see readFile), which the caller
// closes, and the file's size.
func openRegular(path string, flag int, perm uint32, private bool) (handle, int64, error) {
	flag |= syscall.O_NONBLOCK | syscall.O_CLOEXEC
	if private {
		flag |= syscall.O_NOFOLLOW
	}
	var fd int
	err := retryEINTR(func() (err error) { fd, err = syscall.Open(path, flag, perm); return err })
	if err != nil {
		return -1, 0, openError(path, &fs.PathError{Op: "open", Path: path, Err: err}, private)
	}
	var st syscall.Stat_t
	if err := retryEINTR(func() error { return syscall.Fstat(fd, &st) }); err != nil {
		syscall.Close(fd)
		return -1, 0, fmt.Errorf("storage: %w", &fs.PathError{Op: "stat", Path: path, Err: err})
	}
	if rerr := checkRegular(path, statMode(uint32(st.Mode)), int(st.Uid), private); rerr != nil {
		syscall.Close(fd)
		return -1, 0, rerr
	}
	return fd, st.Size, nil
}

func retryEINTR(call func() error) error {
	for {
		if err := call(); err != syscall.EINTR {
			return err
		}
	}
}

// statMode is the fs.FileMode type bits of a stat(2) mode.
func statMode(m uint32) fs.FileMode {
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFLNK:
		return fs.ModeSymlink
	}
	return 0
}

// openError turns what open(2) says about a path that is not a usable file into
// a *RecordError; other errors (missing, permission) keep their *PathError,
// which names the path.
func openError(path string, err error, private bool) error {
	switch {
	case errors.Is(err, syscall.EISDIR):
		return notRegular(path, fs.ModeDir)
	case errors.Is(err, syscall.ENXIO): // a socket, or a FIFO opened for writing
		if fi, lerr := os.Stat(path); lerr == nil {
			return notRegular(path, fi.Mode())
		}
	case private && (errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)):
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return &RecordError{Name: path, link: true, Msg: "is a symbolic link, which tokenkeeper does not follow here",
				Hint: "remove it (rm " + shellQuote(path) + "); tokenkeeper creates the file it needs"}
		}
	}
	return fmt.Errorf("storage: %w", err)
}

// checkRegular is the rule for what an open file may be.
func checkRegular(path string, mode fs.FileMode, uid int, private bool) error {
	if !mode.IsRegular() {
		return notRegular(path, mode)
	}
	if private {
		if uid != os.Geteuid() {
			return &RecordError{Name: path,
				Msg:  fmt.Sprintf("belongs to another user (uid %d, not %d); tokenkeeper uses only its own user's files", uid, os.Geteuid()),
				Hint: "run tokenkeeper as the file's owner, or keep the profile in a directory of your own"}
		}
	}
	return nil
}

// fileOwner is the uid that owns the file fi describes.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
