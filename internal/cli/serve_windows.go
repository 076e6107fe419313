package cli

import (
	"errors"
	"io/fs"
	"net"

	"golang.org/x/sys/windows"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// noSocket says why serve --socket cannot work on this Windows: unix sockets
// came with Windows 10 version 1803 (and Wine 8 has none). Asking for one
// socket tells, before any directory is made.
func noSocket() error {
	s, err := windows.Socket(windows.AF_UNIX, windows.SOCK_STREAM, 0)
	if err != nil {
		return errors.New("this Windows has no unix sockets (Windows 10 version 1803 and later have them); serve on a loopback port with its secret file")
	}
	windows.Closesocket(s)
	return nil
}

// socketDir makes the socket's directory one whose new files are this user's
// alone, or refuses one that lets others in (storage.PrivateDir): Windows has
// no umask, and a socket takes the access list its directory passes on.
func socketDir(dir string) error { return storage.PrivateDir(dir) }

// listenPrivate listens on a unix socket, private through its directory
// (socketDir).
func listenPrivate(path string) (net.Listener, error) { return net.Listen("unix", path) }

// ownFile reports whether the file at path is owned by this process's user
// (its owner SID is the user's). A file whose owner cannot be read is not.
func ownFile(path string, _ fs.FileInfo) bool {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return false
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil {
		return false
	}
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	return err == nil && owner.Equals(user.User.Sid)
}

// addrInUse: a port another process listens on (Winsock's own code).
func addrInUse(err error) bool { return errors.Is(err, windows.WSAEADDRINUSE) }
