package cli

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
)

// TestLstatIDPinsTheFile: the identity lstatID returns is the file's at the
// time of the call, not whatever holds the path when it is compared (Windows
// reads a file's ID lazily, by path).
func TestLstatIDPinsTheFile(t *testing.T) {
	dir := testfs.TempDir(t)
	path, aside := filepath.Join(dir, "f"), filepath.Join(dir, "aside")
	if err := os.WriteFile(path, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	first := lstatID(path)
	if err := os.Rename(path, aside); err != nil { // the first file lives on, elsewhere
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	if first == nil || os.SameFile(first, lstatID(path)) {
		t.Errorf("the file now at the path is the same file as the one there before it")
	}
	if !os.SameFile(first, lstatID(aside)) {
		t.Errorf("the file moved aside is not the same file as before")
	}
}

// TestListenUnix: serve's socket takes connections, refuses a second server
// on its path, and at the end removes its own socket but not one another
// server bound at the path since. Where the system has no unix sockets (Wine
// 8), it skips, saying so.
func TestListenUnix(t *testing.T) {
	if err := noSocket(); err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(testfs.TempDir(t), "sockets")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "t.sock")
	ln, cleanup, err := listenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("the path after listen: %v, %v; want a socket", fi, err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Close()
	if _, _, err := listenUnix(path); err == nil || !strings.Contains(err.Error(), "another server is listening") {
		t.Errorf("a second server on the path: %v, want a refusal", err)
	}
	// The path is taken over by another server: the first one's clean-up must
	// leave it.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	other, otherCleanup, err := listenUnix(path)
	if err != nil {
		t.Fatal(err)
	}
	cleanup()
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("the first server's clean-up removed the socket of the server that took the path over: %v", err)
	}
	otherCleanup()
	if _, err := os.Lstat(path); err == nil {
		t.Errorf("the socket is still there after its server's clean-up")
	}
	other.Close()
}
