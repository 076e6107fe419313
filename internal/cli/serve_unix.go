//go:build unix

package cli

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// errNoSocket is nil: serve --socket works here.
var errNoSocket error

// listenUnix listens on a unix socket created 0600. A socket left by a server
// that is gone is replaced; a live one, or another kind of file, is an error.
func listenUnix(path string) (net.Listener, func(), error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, nil, fmt.Errorf("%s exists and is not a socket; not replacing it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, nil, fmt.Errorf("another server is listening on %s", path)
		}
		os.Remove(path) // a socket whose server is gone
	}
	// The umask makes the socket 0600 from its first instant: a chmod after
	// bind would leave a moment in which others could connect.
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, nil, err
	}
	// The path is removed at the end only while it is still the socket bound
	// here (same device and inode): once it was deleted and another serve
	// bound the path again, it is that server's. Go's own unlink on Close
	// would remove whatever is there.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	bound, _ := os.Lstat(path)
	return ln, func() {
		ln.Close()
		if now, err := os.Lstat(path); err == nil && bound != nil && os.SameFile(bound, now) {
			os.Remove(path)
		}
	}, nil
}

// ownFile reports whether fi belongs to this process's user.
func ownFile(_ string, fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
