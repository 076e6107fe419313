package storage

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// readRights are the access rights that let a holder read a file's content.
const readRights = windows.FILE_READ_DATA | windows.GENERIC_READ | windows.GENERIC_ALL

// aclWarning is PermissionWarning on Windows: "" when the file is missing or
// only this user, SYSTEM and the Administrators may read it, and otherwise a
// warning naming who else may, with the icacls line that makes it private.
func aclWarning(path string) string {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return ""
	}
	me, err := currentUser()
	if err != nil {
		return ""
	}
	others := otherReaders(sd, me.sid)
	if len(others) == 0 {
		return ""
	}
	return fmt.Sprintf("%s is readable by %s (its access list); run: icacls %s /inheritance:r /grant:r %%USERNAME%%:F",
		path, strings.Join(others, ", "), winArg(path))
}

// otherReaders names the accounts, beyond user, SYSTEM, the Administrators and
// the file's owner (OWNER RIGHTS), to which sd's DACL grants reading. A missing DACL grants
// everyone everything.
func otherReaders(sd *windows.SECURITY_DESCRIPTOR, user *windows.SID) []string {
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return []string{"everyone (no access list)"}
	}
	var names []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if windows.GetAce(dacl, i, &ace) != nil || ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE ||
			ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 || ace.Mask&readRights == 0 {
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

// winArg quotes a path for cmd or PowerShell when it needs it.
func winArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t&|<>^()%!'\"`$;,") {
		return s
	}
	return `"` + s + `"`
}
