package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// dirNames lists a directory, to prove no temporary file was left behind.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// blockedPath returns a path whose parent is a regular file, which no one,
// root included, can create a file under (ENOTDIR).
func blockedPath(t *testing.T) (path, file string) {
	t.Helper()
	file = filepath.Join(tempDir(t), "plain")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(file, "sub", "token.json"), file
}

func TestWriteFile(t *testing.T) {
	tests := []struct {
		name     string
		existing string // "" = no file yet
		data     string
	}{
		{name: "new file in new directories", data: `{"a":1}`},
		{name: "longer content replaced by shorter", existing: strings.Repeat("x", 4096), data: "short"},
		{name: "empty data", existing: "old", data: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(tempDir(t), "a", "b")
			path := filepath.Join(dir, "refreshTokenObjectFile.json")
			if tt.existing != "" {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := WriteFile(path, []byte(tt.data)); err != nil {
				t.Fatalf("WriteFile: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.data {
				t.Errorf("content: got %q, want %q", got, tt.data)
			}
			if m := mode(t, path); modeBitsTell && m != 0o600 {
				t.Errorf("file mode: got %04o, want 0600", m)
			}
			if tt.existing == "" {
				if m := mode(t, dir); modeBitsTell && m != 0o700 {
					t.Errorf("dir mode: got %04o, want 0700", m)
				}
			}
			if names := dirNames(t, dir); len(names) != 1 {
				t.Errorf("directory holds %q, want only the file", names)
			}
		})
	}
}

func TestWriteFileReplacesInode(t *testing.T) {
	skipOnWindows(t, "a reader that opened the file without FILE_SHARE_DELETE (as os.Open does) blocks its replacement there; TestReplaceUnderSharingReader covers tokenkeeper's own readers")
	path := filepath.Join(tempDir(t), "f")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader holding the old file keeps reading the old content: proof
	// that the file was replaced by rename, not truncated in place.
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	n, _ := old.Read(buf)
	if got := string(buf[:n]); got != "old" {
		t.Errorf("old descriptor reads %q, want %q", got, "old")
	}
}

func TestWriteFileSymlink(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	dir := tempDir(t)
	target := filepath.Join(dir, "real.json")
	link := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link replaced by a file (err %v), want it kept", err)
	}
	if got, _ := os.ReadFile(target); string(got) != "new" {
		t.Errorf("target: got %q, want %q", got, "new")
	}
}

func TestWriteFileErrors(t *testing.T) {
	t.Run("parent is a regular file", func(t *testing.T) {
		path, file := blockedPath(t)
		err := WriteFile(path, []byte("data"))
		if err == nil || !strings.HasPrefix(err.Error(), "storage: save "+path+": ") || !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("got %v, want storage: save %s: … not a directory", err, path)
		}
		if got, _ := os.ReadFile(file); string(got) != "x" {
			t.Errorf("blocking file changed to %q", got)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		skipOnWindows(t, "a directory's mode bits")
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions; TestSaveFaults covers EROFS")
		}
		dir := filepath.Join(tempDir(t), "ro")
		path := filepath.Join(dir, "f")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		err := WriteFile(path, []byte("new"))
		if err == nil || !strings.HasPrefix(err.Error(), "storage: save "+path+": ") || !errors.Is(err, os.ErrPermission) {
			t.Errorf("got %v, want storage: save %s: … permission denied", err, path)
		}
		if got, _ := os.ReadFile(path); string(got) != "old" {
			t.Errorf("old file: got %q, want it intact", got)
		}
	})
}

func TestCheckSavable(t *testing.T) {
	t.Run("ok leaves nothing behind and creates the directory", func(t *testing.T) {
		dir := filepath.Join(tempDir(t), "new")
		for _, size := range []int{0, 1, 64 << 10} {
			if err := CheckSavable(filepath.Join(dir, "tok.json"), size); err != nil {
				t.Fatalf("size %d: %v", size, err)
			}
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("directory holds %q, want nothing", names)
		}
		if m := mode(t, dir); modeBitsTell && m != 0o700 {
			t.Errorf("dir mode: got %04o, want 0700", m)
		}
	})
	t.Run("parent is a regular file", func(t *testing.T) {
		path, _ := blockedPath(t)
		err := CheckSavable(path, 100)
		want := "storage: cannot save in " + filepath.Dir(path) + ": "
		if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, syscall.ENOTDIR) {
			t.Errorf("got %v, want %s… not a directory", err, want)
		}
	})
	t.Run("read-only directory", func(t *testing.T) {
		skipOnWindows(t, "a directory's mode bits")
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		dir := tempDir(t)
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		err := CheckSavable(filepath.Join(dir, "f"), 10)
		if err == nil || !strings.Contains(err.Error(), dir) || !errors.Is(err, os.ErrPermission) {
			t.Errorf("got %v, want permission error naming %s", err, dir)
		}
	})
}

func TestMoveAside(t *testing.T) {
	dir := tempDir(t)
	path := filepath.Join(dir, "refreshTokenObjectFile.json")
	now := time.Date(2026, 11, 21, 23, 0, 0, 0, time.FixedZone("CET", 3600))
	base := path + ".corrupt-20261121T220000Z"
	for i, want := range []string{base, base + "-1", base + "-2"} {
		content := []byte{'0' + byte(i)}
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := MoveAside(path, now)
		if err != nil {
			t.Fatalf("MoveAside #%d: %v", i, err)
		}
		if got != want {
			t.Errorf("MoveAside #%d: got %q, want %q", i, got, want)
		}
		if data, _ := os.ReadFile(got); string(data) != string(content) {
			t.Errorf("moved content: got %q, want %q", data, content)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("original still there (err %v)", err)
		}
	}

	_, err := MoveAside(filepath.Join(dir, "missing"), now)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) {
		t.Errorf("missing file: got %v, want error naming it", err)
	}
}

// ReplaceFile replaces a symbolic link at path with a file of its own (0600)
// and leaves the link's target alone; ReadPrivate refuses to read through one.
func TestReplaceFileAndReadPrivateNeverFollowALink(t *testing.T) {
	skipOnWindows(t, "symbolic links and mode bits")
	dir := tempDir(t)
	target, link := filepath.Join(dir, "target"), filepath.Join(dir, "link")
	if err := os.WriteFile(target, []byte("theirs"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadPrivate(link); err == nil {
		t.Errorf("ReadPrivate read %q through a link", data)
	}
	if err := ReplaceFile(link, []byte("ours")); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(target); string(data) != "theirs" {
		t.Errorf("the link's target now holds %q", data)
	}
	fi, err := os.Lstat(link)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after ReplaceFile: %v %v, want a regular file, 0600", fi.Mode(), err)
	}
	if data, err := ReadPrivate(link); err != nil || string(data) != "ours" {
		t.Errorf("ReadPrivate = %q, %v", data, err)
	}
}

// TestReplaceReserved: the record is written into the reserved file, which
// becomes the token file (nothing else left beside it); a reservation whose
// file was removed meanwhile still saves, the way ReplaceFile does.
func TestReplaceReserved(t *testing.T) {
	dir := tempDir(t)
	path := filepath.Join(dir, "tok.json")
	for _, removed := range []bool{false, true} {
		r, err := Reserve(path, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		if removed {
			os.Remove(r.path)
		}
		want := []byte(fmt.Sprintf(`{"removed":%t}`, removed))
		if err := ReplaceReserved(path, want, r); err != nil {
			t.Fatalf("removed %t: %v", removed, err)
		}
		if got, _ := os.ReadFile(path); string(got) != string(want) {
			t.Errorf("removed %t: file holds %q, want %q", removed, got, want)
		}
		if fi, err := os.Stat(path); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("removed %t: %v, %v; want mode 0600", removed, err, fi)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("removed %t: %d files in the directory, want the token file only", removed, len(entries))
		}
	}
}
