package storage

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// readRights are the access rights that let a holder read a file's content;
// writeRights those that let a holder put or replace files in a directory, or
// give itself that right.
const (
	readRights  = windows.FILE_READ_DATA | windows.GENERIC_READ | windows.GENERIC_ALL
	writeRights = fileAddFile | fileAddSubdirectory | fileDeleteChild |
		windows.GENERIC_WRITE | windows.GENERIC_ALL | windows.WRITE_DAC | windows.WRITE_OWNER
)

// A directory's own rights (winnt.h), which x/sys/windows does not name.
const (
	fileAddFile         = 0x2
	fileAddSubdirectory = 0x4
	fileDeleteChild     = 0x40
)

// aclExposure is FileExposure on Windows: nil when the file is missing or
// only this user, SYSTEM and the Administrators may read it, and otherwise
// who else may, with the icacls line that makes it private.
func aclExposure(path string) *Exposure {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	others, me := holdersBesidesMe(path, readRights)
	if len(others) == 0 {
		return nil
	}
	return &Exposure{Path: path, Problem: fmt.Sprintf("is readable by %s (its access list)", strings.Join(others, ", ")),
		Fix: fmt.Sprintf("icacls %s /inheritance:r /grant:r \"*%s:F\"", winArg(path), me)}
}

// dirACLWarning is dirWriteWarning on Windows: a warning when the directory's
// access list lets anyone beyond this user, SYSTEM and the Administrators add,
// replace or remove files in it.
func dirACLWarning(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return ""
	}
	others, me := holdersBesidesMe(dir, writeRights)
	if len(others) == 0 {
		return ""
	}
	return fmt.Sprintf("%s is writable by %s (its access list), who could replace the files in it; run: icacls %s /inheritance:r /grant:r \"*%s:(OI)(CI)F\"",
		dir, strings.Join(others, ", "), winArg(dir), me)
}

// holdersBesidesMe is otherHolders of path's access list, and this user's SID;
// none when the list or the user cannot be read, which warns of nothing.
func holdersBesidesMe(path string, rights windows.ACCESS_MASK) ([]string, *windows.SID) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, nil
	}
	me, err := currentUser()
	if err != nil {
		return nil, nil
	}
	return otherHolders(sd, me.sid, rights), me.sid
}

// otherReaders names the accounts, beyond user, SYSTEM, the Administrators and
// the file's owner (OWNER RIGHTS), to which sd's DACL grants reading. A
// missing DACL grants everyone everything.
func otherReaders(sd *windows.SECURITY_DESCRIPTOR, user *windows.SID) []string {
	return otherHolders(sd, user, readRights)
}

// otherHolders is otherReaders for any of rights.
func otherHolders(sd *windows.SECURITY_DESCRIPTOR, user *windows.SID, rights windows.ACCESS_MASK) []string {
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return []string{"everyone (no access list)"}
	}
	var names []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if windows.GetAce(dacl, i, &ace) != nil || ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE ||
			ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 || ace.Mask&rights == 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if sid.Equals(user) || sid.IsWellKnown(windows.WinLocalSystemSid) || sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) ||
			sid.IsWellKnown(windows.WinCreatorOwnerRightsSid) {
			continue
		}
		names = append(names, sidName(sid))
	}
	return names
}

// sidName is "DOMAIN\name" where the SID resolves, else the SID itself.
func sidName(sid *windows.SID) string {
	account, domain, _, err := sid.LookupAccount("")
	switch {
	case err != nil || account == "":
		return sid.String()
	case domain == "":
		return account
	}
	return domain + `\` + account
}

// winArg quotes a path for cmd or PowerShell when it needs it. The icacls
// lines above name the user by SID ("*S-1-5-…"), which both shells pass as it
// is, where %USERNAME% would mean nothing to PowerShell.
func winArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t&|<>^()%!'\"`$;,") {
		return s
	}
	return `"` + s + `"`
}
