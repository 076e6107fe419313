package cli

import (
	"errors"
	"io/fs"
	"net"

	"golang.org/x/sys/windows"
)

// errNoSocket: Windows 10 has AF_UNIX sockets, but nothing here yet makes one
// private to the user from its first instant (what the umask does on Unix), so
// serve offers --listen with its secret file instead.
var errNoSocket = errors.New("not available on Windows yet; serve on a loopback port with its secret file")

func listenUnix(string) (net.Listener, func(), error) { return nil, nil, errNoSocket }

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
