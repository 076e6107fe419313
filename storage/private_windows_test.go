package storage

import (
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
)

// TestPrivateFilesUserOnly: a saved token or credentials file, and one made by
// CreateFile, carry a protected DACL whose one entry is this user's; a file
// written for others to read (WriteReadable) keeps what its directory gives.
func TestPrivateFilesUserOnly(t *testing.T) {
	testfs.SkipUnderWine(t, "Wine does not keep the DACL a file is created with")
	dir := tempDir(t)
	saved, created, readable := filepath.Join(dir, "tok.json"), filepath.Join(dir, "secret"), filepath.Join(dir, "metrics.prom")
	if err := WriteFile(saved, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateFile(created, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := WriteReadable(readable, []byte("x")); err != nil {
		t.Fatal(err)
	}
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{saved, created} {
		sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
		if err != nil {
			t.Fatal(err)
		}
		control, _, _ := sd.Control()
		dacl, _, err := sd.DACL()
		if err != nil || dacl == nil || control&windows.SE_DACL_PROTECTED == 0 || dacl.AceCount != 1 {
			t.Errorf("%s: DACL %v (protected %v, err %v), want one protected entry", path, dacl, control&windows.SE_DACL_PROTECTED != 0, err)
			continue
		}
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, 0, &ace); err != nil {
			t.Fatal(err)
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || !sid.Equals(user.User.Sid) {
			t.Errorf("%s: the entry is type %d for %s, want access allowed to %s", path, ace.Header.AceType, sid, user.User.Sid)
		}
	}
	sd, err := windows.GetNamedSecurityInfo(readable, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatal(err)
	}
	if control, _, _ := sd.Control(); control&windows.SE_DACL_PROTECTED != 0 {
		t.Errorf("%s: a protected DACL, want the directory's", readable)
	}
}
