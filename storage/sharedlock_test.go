package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeShared is a shared store's record held in memory at version rev.
type fakeShared struct {
	rev    int64
	record []byte
	fail   error // what a save answers, when set
	files  *HostFiles
	warned []string
}

func newFakeShared(t *testing.T) *fakeShared {
	dir := tempDir(t)
	s := &fakeShared{}
	o := SharedOptions{CopyFile: filepath.Join(dir, "copy.json"), PendingFile: filepath.Join(dir, "pending.json"),
		Warn: func(msg string) { s.warned = append(s.warned, msg) }}
	s.files = o.HostFiles(HostFiles{Store: "etcd://h/p/record", BaseKey: "base_revision", What: "etcd", Version: "revision"})
	return s
}

// lock is the store's lock, bound to its read and its save (conditional on
// the version read, as every shared store's).
func (s *fakeShared) lock() *SharedLock[int64] {
	l := &SharedLock[int64]{}
	read := func(context.Context) ([]byte, error) {
		l.Saw(s.rev, s.record)
		if s.record == nil {
			return nil, fs.ErrNotExist
		}
		return s.record, nil
	}
	save := func(ctx context.Context, data []byte) (int64, error) {
		base, err := l.Base(ctx)
		switch {
		case err != nil:
			return base, err
		case s.fail != nil:
			return base, s.fail
		case base != s.rev:
			return base, errors.New("etcd: the record changed since it was read")
		}
		s.rev, s.record = s.rev+1, data
		l.Wrote(s.rev, data)
		return base, nil
	}
	l.Bind(s.files, read, save)
	return l
}

// TestSharedLockKeepsAndPushes: a failed save is kept in the pending file
// with the version it meant to replace; the next lock pushes it while the
// record is still that version, and sets it aside (never deletes it) once
// another holder has saved.
func TestSharedLockKeepsAndPushes(t *testing.T) {
	ctx := context.Background()
	s := newFakeShared(t)
	s.rev, s.record = 7, []byte(`{"v":7}`)
	s.fail = errors.New("etcd: unavailable")
	if err := s.lock().Save(ctx, []byte(`{"v":"late"}`)); err == nil || !strings.Contains(err.Error(), "kept in "+s.files.Pending) {
		t.Fatalf("a failed Save: %v, want the answer kept in %s", err, s.files.Pending)
	}
	var base int64
	if data, err := s.files.ReadPending(&base); err != nil || base != 7 || string(data) != `{"v":"late"}` {
		t.Fatalf("pending: %q, base %d, %v; want the answer with base 7", data, base, err)
	}
	s.fail = nil
	s.lock().PushPending(ctx)
	if s.rev != 8 || string(s.record) != `{"v":"late"}` {
		t.Fatalf("record after the push: %q at %d, want the pending answer at 8", s.record, s.rev)
	}
	if _, err := os.Stat(s.files.Pending); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("pending file after the push: %v, want none", err)
	}

	s.fail = errors.New("etcd: unavailable")
	_ = s.lock().Save(ctx, []byte(`{"v":"later"}`))
	s.fail = nil
	s.rev, s.record = 9, []byte(`{"v":"other"}`) // another holder saved
	s.lock().PushPending(ctx)
	if string(s.record) != `{"v":"other"}` {
		t.Fatalf("a stale pending answer overwrote the record: %q", s.record)
	}
	if m, _ := filepath.Glob(s.files.Pending + ".stale-*"); len(m) != 1 {
		t.Fatalf("stale pending files: %v, want one", m)
	}
	if len(s.warned) != 1 || !strings.Contains(s.warned[0], "changed since (revision 9, not 8)") {
		t.Errorf("warnings: %q, want one naming revision 9, not 8", s.warned)
	}
}
