//go:build linux

package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"golang.org/x/sys/unix"
)

// TestSaveFaults: a full disk or a read-only mount at save time leaves the
// old file intact and no temporary file behind, and CheckSavable sees it
// first.
func TestSaveFaults(t *testing.T) {
	tests := []struct {
		name    string
		breakFS func(t *testing.T, dir string)
		want    error
	}{
		{"disk full", testfs.Fill, syscall.ENOSPC},
		{"read-only", func(t *testing.T, dir string) {
			if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				t.Fatalf("remount read-only: %v", err)
			}
		}, syscall.EROFS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := testfs.Tmpfs(t, "64k")
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

// TestFileStoreCheckSavableFollowsLink: with the token file a link to a file on
// a full file system, the save check fails there, not in the link's (roomy)
// directory, before a refresh token is spent.
func TestFileStoreCheckSavableFollowsLink(t *testing.T) {
	full := testfs.Tmpfs(t, "64k")
	p, target := linkedProfile(t, full)
	testfs.Fill(t, full)
	ctx := context.Background()
	l, err := OpenFileStore(p, nil).Lock(ctx, 0, "me")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	err = l.CheckSavable(ctx, 64<<10)
	if !errors.Is(err, syscall.ENOSPC) || !strings.HasPrefix(err.Error(), "storage: cannot save in "+full+": ") {
		t.Errorf("CheckSavable: got %v, want ENOSPC naming %s", err, full)
	}
	if got, _ := os.ReadFile(target); string(got) != `{"a":1}` {
		t.Errorf("target: got %q, want it intact", got)
	}
}
