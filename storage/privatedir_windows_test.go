package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestPrivateDir: a missing socket directory is made, with its parents, and
// then passes; a file, or a directory whose access list lets Everyone in
// (for itself or for what it passes on to new files), is refused, naming who.
func TestPrivateDir(t *testing.T) {
	root := tempDir(t)
	dir := filepath.Join(root, "a", "sockets")
	if err := PrivateDir(dir); err != nil {
		t.Fatalf("PrivateDir of a missing directory: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("PrivateDir made no directory: %v", err)
	}
	if err := PrivateDir(dir); err != nil {
		t.Errorf("PrivateDir of the directory it made: %v", err)
	}

	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := PrivateDir(file); err == nil || !strings.Contains(err.Error(), "not a plain directory") {
		t.Errorf("PrivateDir of a file: %v, want a refusal", err)
	}

	me, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	// Everyone reading what the directory passes on to new files only (an
	// inherit-only entry): a socket made there would let Everyone connect.
	for name, everyone := range map[string]string{"inherited": "(A;OICIIO;FR;;;WD)", "own": "(A;;FR;;;WD)"} {
		open := filepath.Join(root, name)
		if err := os.Mkdir(open, 0o700); err != nil {
			t.Fatal(err)
		}
		sd, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;" + me.sid.String() + ")" + everyone)
		if err != nil {
			t.Fatal(err)
		}
		dacl, _, _ := sd.DACL()
		if err := windows.SetNamedSecurityInfo(open, windows.SE_FILE_OBJECT,
			windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
			t.Fatal(err)
		}
		err = PrivateDir(open)
		if err == nil || !strings.Contains(err.Error(), "Everyone") || !strings.Contains(err.Error(), "icacls") {
			t.Errorf("PrivateDir of a directory that lets Everyone read (%s): %v, want a refusal naming Everyone and icacls", name, err)
		}
	}
}
