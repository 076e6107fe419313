package storage

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// TestReplaceUnderSharingReader: a save meets one of tokenkeeper's own readers
// holding the file open. Windows with POSIX rename semantics replaces it at
// once; older Windows and Wine refuse the move while the handle is open, and
// the save waits (retryShared) instead of failing. The reader here lets go as
// soon as the save has its temporary file written.
func TestReplaceUnderSharingReader(t *testing.T) {
	path := filepath.Join(tempDir(t), "tok.json")
	if err := WriteFile(path, []byte("old")); err != nil {
		t.Fatal(err)
	}
	h, _, err := openRegular(path, os.O_RDONLY, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	saved := make(chan error, 1)
	go func() { saved <- WriteFile(path, []byte("new")) }()
	for len(dirNames(t, filepath.Dir(path))) < 2 && len(saved) == 0 {
		runtime.Gosched()
	}
	windows.CloseHandle(h)
	if err := <-saved; err != nil {
		t.Fatalf("save while a reader had the file open: %v", err)
	}
	if got, err := ReadPrivate(path); err != nil || string(got) != "new" {
		t.Errorf("after the save: got %q, %v; want the new content", got, err)
	}
	if names := dirNames(t, filepath.Dir(path)); len(names) != 1 {
		t.Errorf("directory holds %q, want only the file", names)
	}
}

// TestDevicePathsRefused: a device (NUL, CON, \\.\ names, a named pipe) is
// never read as a token or credentials file, nor locked.
func TestDevicePathsRefused(t *testing.T) {
	for _, path := range []string{"NUL", `\\.\NUL`, `\\.\pipe\tokenkeeper-test`, `//./PhysicalDrive0`, `\\?\GLOBALROOT\Device\Null`} {
		_, err := ReadFile(path)
		var re *RecordError
		if !errors.As(err, &re) || !strings.Contains(re.Msg, "not a regular file") {
			t.Errorf("ReadFile(%q): got %v, want a *RecordError: not a regular file", path, err)
		}
	}
	if _, err := AcquireLock(t.Context(), `\\.\NUL`, 0, "x"); err == nil {
		t.Errorf("AcquireLock on a device: got nil error")
	}
}

// TestReparsePointRefused: a symbolic link where a private file belongs is
// refused, not followed (where this Windows lets the test make one).
func TestReparsePointRefused(t *testing.T) {
	dir := tempDir(t)
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	if got, err := ReadFile(link); err != nil || string(got) != "x" {
		t.Skipf("this Windows does not follow the link it made (%q, %v)", got, err)
	}
	_, err := ReadPrivate(link)
	var re *RecordError
	if !errors.As(err, &re) || !re.link {
		t.Errorf("ReadPrivate(link): got %v, want a *RecordError for a link", err)
	}
}

// TestReadWaitsOutExclusiveOpen: a reader that finds the file open by another
// process without sharing (an editor saving, a virus scanner) retries for a
// moment instead of failing. The other handle here is let go shortly after
// the read has started.
func TestReadWaitsOutExclusiveOpen(t *testing.T) {
	path := filepath.Join(tempDir(t), "tok.json")
	if err := WriteFile(path, []byte("content")); err != nil {
		t.Fatal(err)
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ|windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if h2, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0); err == nil {
		windows.CloseHandle(h2)
		windows.CloseHandle(h)
		t.Skip("this Windows does not enforce share modes")
	}
	type result struct {
		data []byte
		err  error
	}
	got := make(chan result, 1)
	go func() { d, err := ReadPrivate(path); got <- result{d, err} }()
	time.Sleep(50 * time.Millisecond) // lets the read meet the sharing violation first
	windows.CloseHandle(h)
	if r := <-got; r.err != nil || string(r.data) != "content" {
		t.Errorf("read while another held the file exclusively: %q, %v; want the content once it was let go", r.data, r.err)
	}
}
