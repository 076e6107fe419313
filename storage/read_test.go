package storage

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// otherUser makes path belong to uid 65534 (nobody), which only root can do;
// elsewhere the test is skipped.
func otherUser(t *testing.T, path string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user (uid 65534)")
	}
	if err := os.Lchown(path, 65534, 65534); err != nil {
		t.Skipf("cannot give %s to uid 65534: %v", path, err)
	}
}

func wantRecordError(t *testing.T, err error, path, what string) {
	t.Helper()
	var re *RecordError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a *RecordError", err)
	}
	if re.Name != path || !strings.Contains(re.Msg, what) || re.Hint == "" {
		t.Errorf("got %q (name %q, hint %q), want one naming %s that says %q, with a hint", err, re.Name, re.Hint, path, what)
	}
	if !strings.HasPrefix(err.Error(), "storage: "+path+": ") {
		t.Errorf("message %q does not start with storage: and the path", err)
	}
}

func TestReadFileNotRegular(t *testing.T) {
	dir := tempDir(t)
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path, what string }{
		{"FIFO", fifo, "is a FIFO (named pipe), not a regular file"},
		{"socket", sock, "is a socket, not a regular file"},
		{"directory", sub, "is a directory, not a regular file"},
		{"/dev/zero through a link", zero, "is a character device, not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := ReadFile(tt.path)
			if data != nil {
				t.Errorf("read %d bytes, want none", len(data))
			}
			wantRecordError(t, err, tt.path, tt.what)
		})
	}
}

// TestReadFileCapped: a huge file is read only up to the cap, whatever its size
// on disk: the bytes returned are the bytes read.
func TestReadFileCapped(t *testing.T) {
	dir := tempDir(t)
	tests := []struct {
		name string
		size int64
	}{
		{"exactly the cap", MaxFileSize},
		{"one byte more", MaxFileSize + 1},
		{"100 MB", 100 << 20},
		{"2 GB sparse", 2 << 30},
	}
	prefix := []byte(`{"access_token":"`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, prefix, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, tt.size); err != nil { // sparse: costs no disk
				t.Fatal(err)
			}
			data, err := ReadFile(path)
			if len(data) != MaxFileSize || !bytes.HasPrefix(data, prefix) {
				t.Errorf("read %d bytes, want the first %d", len(data), MaxFileSize)
			}
			if cap(data) > MaxFileSize+1 {
				t.Errorf("buffer of %d bytes, want at most %d", cap(data), MaxFileSize+1)
			}
			tooLarge := tt.size > MaxFileSize
			if errors.Is(err, ErrTooLarge) != tooLarge || (!tooLarge && err != nil) {
				t.Errorf("err = %v, want ErrTooLarge: %v", err, tooLarge)
			}
			if tooLarge && !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want it to name %s", err, path)
			}
		})
	}
}

func TestReadFileSmall(t *testing.T) {
	dir := tempDir(t)
	for _, content := range []string{"", "{}", "\uFEFF{\"a\":1}"} {
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		data, err := ReadFile(path)
		if err != nil || string(data) != content {
			t.Errorf("got %q, %v; want %q", data, err, content)
		}
	}
	_, err := ReadFile(filepath.Join(dir, "missing"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "missing")) {
		t.Errorf("missing: got %v, want fs.ErrNotExist naming the path", err)
	}
}

func TestReadPrivate(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	dir := tempDir(t)
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(link); err != nil {
		t.Errorf("ReadFile follows links: %v", err)
	}
	_, err := readFile(link, true)
	wantRecordError(t, err, link, "is a symbolic link")

	otherUser(t, target)
	_, err = readFile(target, true)
	wantRecordError(t, err, target, "belongs to another user (uid 65534")
}

// TestNoHintMovesSystemFiles: a device, or any file where the system keeps
// its own, is never offered a mv (a root user whose configuration names
// /dev/zero would move it).
func TestNoHintMovesSystemFiles(t *testing.T) {
	for _, tt := range []struct {
		path string
		mode fs.FileMode
	}{
		{"/dev/zero", fs.ModeDevice | fs.ModeCharDevice},
		{"/etc/ssl", fs.ModeDir},
		{"/home/u/.local/state/tokenkeeper/p/refreshTokenObjectFile.json", fs.ModeNamedPipe},
	} {
		hint := notRegular(tt.path, tt.mode).Hint
		if offers := strings.Contains(hint, "mv "); offers != (tt.mode&fs.ModeDevice == 0 && !SystemPath(tt.path)) {
			t.Errorf("%s (%v): hint %q", tt.path, tt.mode, hint)
		}
	}
}
