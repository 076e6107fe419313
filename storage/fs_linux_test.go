//go:build linux

package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// smallFS mounts a 64 KiB tmpfs on a temporary directory. It needs
// CAP_SYS_ADMIN (root in most containers); elsewhere the test is skipped.
func smallFS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fill writes to a filler file until the file system is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1024)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling: %v", err)
			}
			return
		}
	}
}

// TestSaveFaults: a full disk or a read-only mount at save time leaves the
// old file intact and no temporary file behind, and CheckSavable sees it
// first.
func TestSaveFaults(t *testing.T) {
	tests := []struct {
		name    string
		breakFS func(t *testing.T, dir string)
		want    error
	}{
		{"disk full", fill, syscall.ENOSPC},
		{"read-only", func(t *testing.T, dir string) {
			if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				t.Fatalf("remount read-only: %v", err)
			}
		}, syscall.EROFS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := smallFS(t)
			path := filepath.Join(dir, TokenFileName)
			if err := WriteFile(path, []byte("old")); err != nil {
				t.Fatal(err)
			}
			tt.breakFS(t, dir)
			before := dirNames(t, dir)

			err := CheckSavable(path, 8<<10)
			if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "storage: cannot save in "+dir+": ") {
				t.Errorf("CheckSavable: got %v, want %v naming %s", err, tt.want, dir)
			}
			err = WriteFile(path, make([]byte, 8<<10))
			if !errors.Is(err, tt.want) || !strings.HasPrefix(err.Error(), "storage: save "+path+": ") {
				t.Errorf("WriteFile: got %v, want %v naming %s", err, tt.want, path)
			}
			if got, _ := os.ReadFile(path); string(got) != "old" {
				t.Errorf("old file: got %q, want it intact", got)
			}
			if after := dirNames(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("directory: got %q, want %q (no temporary files left)", after, before)
			}
		})
	}
}
