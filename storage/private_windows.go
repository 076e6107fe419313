package storage

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// currentUser is this process's user SID, and whether the process's token
// holds the Administrators group in any state (enabled when elevated, deny-only
// when not): a file an elevated process of this user created may be owned by
// the Administrators group rather than by the user.
var currentUser = sync.OnceValues(func() (userAndAdmin, error) {
	tok := windows.GetCurrentProcessToken()
	user, err := tok.GetTokenUser()
	if err != nil {
		return userAndAdmin{}, err
	}
	u := userAndAdmin{sid: user.User.Sid}
	if groups, err := tok.GetTokenGroups(); err == nil {
		for _, g := range groups.AllGroups() {
			if g.Sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) {
				u.admin = true
			}
		}
	}
	return u, nil
})

type userAndAdmin struct {
	sid   *windows.SID
	admin bool
}

// checkOwner refuses a private file whose owner is not this user (nor, for an
// administrator, the Administrators group): the Windows form of the uid check
// on Unix.
func checkOwner(path string, h windows.Handle) error {
	sd, err := windows.GetSecurityInfo(h, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("storage: %w", &os.PathError{Op: "read the owner of", Path: path, Err: err})
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("storage: %w", &os.PathError{Op: "read the owner of", Path: path, Err: err})
	}
	me, err := currentUser()
	if err != nil {
		return fmt.Errorf("storage: the current user: %w", err)
	}
	if owner != nil && (owner.Equals(me.sid) || me.admin && owner.IsWellKnown(windows.WinBuiltinAdministratorsSid)) {
		return nil
	}
	name := "no owner"
	if owner != nil {
		name = sidName(owner)
	}
	return &RecordError{Name: path,
		Msg:  fmt.Sprintf("belongs to another user (%s, not %s); tokenkeeper uses only its own user's files", name, sidName(me.sid)),
		Hint: "run tokenkeeper as the file's owner, or keep the profile in a directory of your own"}
}

// userOnly is the security descriptor of every file tokenkeeper creates for
// its own secrets on Windows: a protected DACL (nothing inherited from the
// directory) whose one entry gives the current user full access. It is what
// OpenSSH for Windows requires of a private key; the file itself stays the
// same JSON as on Unix (no DPAPI), readable by the user's own tools.
var userOnly = sync.OnceValues(func() (*windows.SECURITY_DESCRIPTOR, error) {
	me, err := currentUser()
	if err != nil {
		return nil, err
	}
	return windows.SecurityDescriptorFromString("D:P(A;;FA;;;" + me.sid.String() + ")")
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
