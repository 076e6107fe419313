package storage

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// userOnly is the security descriptor of every file tokenkeeper creates for
// its own secrets on Windows: a protected DACL (nothing inherited from the
// directory) whose one entry gives the current user full access. It is what
// OpenSSH for Windows requires of a private key; the file itself stays the
// same JSON as on Unix (no DPAPI), readable by the user's own tools.
var userOnly = sync.OnceValues(func() (*windows.SECURITY_DESCRIPTOR, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	return windows.SecurityDescriptorFromString("D:P(A;;FA;;;" + user.User.Sid.String() + ")")
})

// createPrivate creates a new file at path, exclusively, readable and
// writable by this user only from its first instant (userOnly).
func createPrivate(path string) (*os.File, error) {
	sd, err := userOnly()
	if err != nil {
		return nil, fmt.Errorf("storage: the current user's security descriptor: %w", err)
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		sa, windows.CREATE_NEW, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}
