package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// PrivateDir makes sure that dir is a directory in which a new file is this
// user's alone: what `serve --socket` needs on Windows, where no umask makes a
// socket private from its first instant and a socket file takes the access
// list its directory passes on to new files. (Windows lets anyone open a path
// whose every directory denies them, so the socket's own list is what counts.)
//
// A missing dir is created (its parents as MkdirAll does) with a protected
// access list whose one entry, inherited by everything made in it, grants this
// user full access. An existing dir must be a plain directory (no junction or
// link), owned by this user, whose access list grants nobody but this user,
// SYSTEM and the Administrators anything, whether for itself or for the files
// it passes on to; else the error names who else, with the icacls line that
// makes it private.
func PrivateDir(dir string) error {
	me, err := currentUser()
	if err != nil {
		return fmt.Errorf("storage: the current user: %w", err)
	}
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := mkdirPrivate(dir, me.sid); err != nil {
			return err
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() || fi.Mode()&fs.ModeIrregular != 0 || fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is not a plain directory (a link, a junction or a file); choose a directory of your own", dir)
	}
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return &os.PathError{Op: "read the access list of", Path: dir, Err: err}
	}
	owner, _, err := sd.Owner()
	if err != nil || owner == nil || !owner.Equals(me.sid) && !(me.admin && owner.IsWellKnown(windows.WinBuiltinAdministratorsSid)) {
		name := "no owner"
		if owner != nil {
			name = sidName(owner)
		}
		return fmt.Errorf("%s belongs to another user (%s, not %s), who may change its access list; choose a directory of your own", dir, name, sidName(me.sid))
	}
	if others := anyHolders(sd, me.sid); len(others) > 0 {
		return fmt.Errorf("%s lets %s in (its access list), and a socket made in it would too; run: icacls %s /inheritance:r /grant:r \"*%s:(OI)(CI)F\", or choose a directory of your own",
			dir, strings.Join(others, ", "), winArg(dir), me.sid)
	}
	return nil
}

// mkdirPrivate creates dir, and its missing parents as os.MkdirAll does,
// with dir's access list userOnlyDir.
func mkdirPrivate(dir string, user *windows.SID) error {
	if err := os.MkdirAll(filepath.Dir(dir), dirMode); err != nil {
		return err
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;" + user.String() + ")")
	if err != nil {
		return fmt.Errorf("storage: the current user's security descriptor: %w", err)
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	if err := windows.CreateDirectory(p, sa); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
		return &os.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return nil
}

// anyHolders names the accounts, beyond user, SYSTEM, the Administrators and
// the owner (OWNER RIGHTS, CREATOR OWNER), to which sd's DACL grants any right,
// its entries that only pass on to files and subdirectories included. A
// missing DACL grants everyone everything.
func anyHolders(sd *windows.SECURITY_DESCRIPTOR, user *windows.SID) []string {
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return []string{"everyone (no access list)"}
	}
	var names []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if windows.GetAce(dacl, i, &ace) != nil || ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Mask == 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if sid.Equals(user) || sid.IsWellKnown(windows.WinLocalSystemSid) || sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) ||
			sid.IsWellKnown(windows.WinCreatorOwnerRightsSid) || sid.IsWellKnown(windows.WinCreatorOwnerSid) {
			continue
		}
		names = append(names, sidName(sid))
	}
	return names
}
