package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"time"
)

// listenUnix listens on a unix socket at path that only this user may use
// from its first instant (listenPrivate: the umask on Unix, the directory's
// access list on Windows). A socket left by a server that is gone is
// replaced; a live one (errInUse), or another kind of file, is an error.
func listenUnix(path string) (net.Listener, func(), error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	if err := socketDir(filepath.Dir(path)); err != nil {
		return nil, nil, err
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, nil, fmt.Errorf("%s exists and is not a socket; not replacing it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, nil, fmt.Errorf("another server is listening on %s: %w", path, errInUse)
		}
		// A socket whose server is gone. One that cannot be removed (another
		// user's, in a sticky directory) stays in the way on every try: a
		// path to change, not a server to wait for.
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s is a socket no server answers on, and it cannot be removed: %w", path, err)
		}
	}
	ln, err := listenPrivate(path)
	if err != nil {
		return nil, nil, err
	}
	// The path is removed at the end only while it is still the socket bound
	// here (the same file: device and inode on Unix, volume and file ID on
	// Windows): once it was deleted and another serve bound the path again, it
	// is that server's. Go's own unlink on Close would remove whatever is there.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	bound := lstatID(path)
	return ln, func() {
		ln.Close()
		if now := lstatID(path); bound != nil && now != nil && os.SameFile(bound, now) {
			os.Remove(path)
		}
	}, nil
}

// maxSocketPath is the longest path a unix socket can be bound to: the
// sun_path of sockaddr_un (108 bytes on Linux and Windows) less its NUL.
const maxSocketPath = 107

// lstatID is os.Lstat with the file's identity read now. Windows reads a
// file's volume and ID lazily, by path, at its first os.SameFile: two Lstats
// of one path compared later would both read whatever is there then, and
// always be the same file. Comparing the result with itself reads it at once.
func lstatID(path string) fs.FileInfo {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil
	}
	os.SameFile(fi, fi)
	return fi
}

// errInUse: the socket or port serve asked for is another server's. It may be
// gone by the next try, so serve exits 75, as for any temporary failure;
// any other failure to listen is the flags' or the path's to fix (78).
var errInUse = errors.New("in use")

// listenExit is serve's exit code when it cannot listen.
func listenExit(err error) int {
	if errors.Is(err, errInUse) || addrInUse(err) {
		return exitTemp
	}
	return exitConfig
}
