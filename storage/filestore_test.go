package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// linkedProfile is a profile directory whose token file is a link to a file in
// another directory.
func linkedProfile(t *testing.T, targetDir string) (p Paths, target string) {
	t.Helper()
	dir := tempDir(t)
	target = filepath.Join(targetDir, "real.json")
	if err := os.WriteFile(target, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Resolve(Options{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p.TokenFile); err != nil {
		t.Fatal(err)
	}
	return p, target
}

func TestFileStoreSymlink(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	ctx := context.Background()
	p, target := linkedProfile(t, tempDir(t))
	s := OpenFileStore(p, nil)
	if s.Name() != target {
		t.Errorf("Name: got %s, want the resolved %s", s.Name(), target)
	}
	if data, err := s.Read(ctx); err != nil || string(data) != `{"a":1}` {
		t.Fatalf("Read: got %q, %v", data, err)
	}
	l, err := s.Lock(ctx, 0, "me")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if _, err := os.Stat(target + LockSuffix); err != nil {
		t.Errorf("lock file beside the target: %v", err)
	}
	if _, err := os.Lstat(p.LockFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock file beside the link: got %v, want none", err)
	}
	if err := l.CheckSavable(ctx, 64<<10); err != nil {
		t.Fatal(err)
	}
	if err := l.Save(ctx, []byte(`{"b":2}`)); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(p.TokenFile); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v), want it kept", err)
	}
	if got, _ := os.ReadFile(target); string(got) != `{"b":2}` {
		t.Errorf("target: got %q, want the saved record", got)
	}
	moved, err := l.SetAside(ctx, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || moved != target+".corrupt-20261201T000000Z" {
		t.Errorf("SetAside: got %q, %v; want it beside the target", moved, err)
	}
	if fi, err := os.Lstat(p.TokenFile); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("the link was moved (%v), want it kept", err)
	}
	// Not dangling: an empty record is left behind it.
	if data, err := OpenFileStore(p, nil).Read(ctx); err != nil || string(data) != "{}\n" {
		t.Errorf("after SetAside: got %q, %v; want an empty record", data, err)
	}
}

// TestFileStoreDanglingLink: a link to nothing is refused before the lock, so
// before any request; nothing is created at the link's target.
func TestFileStoreDanglingLink(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	ctx := context.Background()
	p, target := linkedProfile(t, tempDir(t))
	if err := os.Remove(target); err != nil {
		t.Fatal(err)
	}
	s := OpenFileStore(p, nil)
	_, err := s.Read(ctx)
	wantRecordError(t, err, p.TokenFile, "is a symbolic link to "+target+", which does not exist")
	_, err = s.Lock(ctx, 0, "me")
	wantRecordError(t, err, p.TokenFile, "which does not exist")
	if _, err := os.Lstat(target + LockSuffix); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock file created for a dangling link: %v", err)
	}
}

// TestFileStoreTwoPathsOneLock: two profile directories whose token files are
// one file through a link take one lock.
func TestFileStoreTwoPathsOneLock(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	ctx := context.Background()
	a, err := Resolve(Options{Dir: tempDir(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.TokenFile, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Resolve(Options{Dir: tempDir(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(a.TokenFile, b.TokenFile); err != nil {
		t.Fatal(err)
	}
	l, err := OpenFileStore(a, nil).Lock(ctx, 0, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	_, err = OpenFileStore(b, nil).Lock(ctx, 20*time.Millisecond, "b")
	if !errors.Is(err, ErrLockBusy) || !strings.Contains(err.Error(), "held by a") {
		t.Errorf("second path: got %v, want the lock busy, held by a", err)
	}
}

// TestFileStoreMissingDirLink: a profile directory that is a link resolves
// through it even before the token file exists, so the lock is the same.
func TestFileStoreMissingDirLink(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	real := tempDir(t)
	link := filepath.Join(tempDir(t), "dir")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	p, err := Resolve(Options{Dir: link}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenFileStore(p, nil).LockFile()
	if want := filepath.Join(real, TokenFileName+LockSuffix); err != nil || got != want {
		t.Errorf("LockFile: got %q, %v; want %q", got, err, want)
	}
}

func TestFileStoreRefusesOtherUsersTarget(t *testing.T) {
	p, target := linkedProfile(t, tempDir(t))
	otherUser(t, target)
	_, err := OpenFileStore(p, nil).Read(context.Background())
	wantRecordError(t, err, target, "belongs to another user")
}

// TestLockFileNotFollowed: a lock file that is a link planted by someone else
// is refused, and the file it points to is not written.
func TestLockFileNotFollowed(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	dir := tempDir(t)
	victim := filepath.Join(tempDir(t), "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, TokenFileName+LockSuffix)
	if err := os.Symlink(victim, lock); err != nil {
		t.Fatal(err)
	}
	_, err := AcquireLock(context.Background(), lock, 0, "pid=1 cmd=attacker's victim")
	wantRecordError(t, err, lock, "is a symbolic link")
	if got, _ := os.ReadFile(victim); string(got) != "precious" {
		t.Errorf("the link's target was written: %q", got)
	}
	// A waiter that gives up reads the holder the same way.
	if got := readHolder(lock); got != "" {
		t.Errorf("holder read through a link: %q", got)
	}
}

func TestLockFileNotRegular(t *testing.T) {
	dir := tempDir(t)
	fifo := filepath.Join(dir, "fifo.lock")
	mkfifo(t, fifo)
	_, err := AcquireLock(context.Background(), fifo, 0, "x")
	wantRecordError(t, err, fifo, "is a FIFO")

	sub := filepath.Join(dir, "dir.lock")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(context.Background(), sub, 0, "x")
	wantRecordError(t, err, sub, "is a directory")

	other := filepath.Join(dir, "other.lock")
	if err := os.WriteFile(other, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	otherUser(t, other)
	_, err = AcquireLock(context.Background(), other, 0, "x")
	wantRecordError(t, err, other, "belongs to another user")
}
