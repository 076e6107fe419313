//go:build unix

package cli

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"syscall"
)

// noSocket is nil: serve --socket works here.
func noSocket() error { return nil }

// socketDir: on Unix the socket's own mode makes it private (listenPrivate),
// whatever its directory.
func socketDir(string) error { return nil }

// listenPrivate listens on a unix socket created 0600.
func listenPrivate(path string) (net.Listener, error) {
	// The umask makes the socket 0600 from its first instant: a chmod after
	// bind would leave a moment in which others could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	return ln, err
}

// ownFile reports whether fi belongs to this process's user.
func ownFile(_ string, fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// addrInUse: a port another process listens on.
func addrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
