package refresh_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// TestWaiterLeavesWhenRenewed: a caller waiting for the lock that another
// process holds to renew hands out the token that process saves as soon as it
// is on disk, without waiting its turn for the lock and without a request of
// its own. A --force caller does the same only for a token obtained after it
// was asked; an older one it must not take for a renewal.
func TestWaiterLeavesWhenRenewed(t *testing.T) {
	lr := newLostRace(t)
	m := lr.manager()
	m.LockTimeout = 10 * time.Second
	if _, err := m.Ensure(context.Background(), refresh.Options{}); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	valid, err := os.ReadFile(m.Paths.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	expireFile(t, m.Paths.TokenFile)
	lock, err := storage.AcquireLock(context.Background(), m.Paths.LockFile, 0, "pid=1 cmd=holder")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	time.AfterFunc(50*time.Millisecond, func() {
		if err := storage.WriteFile(m.Paths.TokenFile, valid); err != nil {
			t.Error(err)
		}
	})

	r, err := m.Ensure(context.Background(), refresh.Options{})
	if err != nil || r.Action != refresh.ActionValid {
		t.Fatalf("Ensure while the lock is held: got %+v, %v; want the holder's token", r, err)
	}
	if got := lr.srv.Count(""); got != 1 {
		t.Errorf("endpoint saw %d requests, want 1 (the bootstrap)", got)
	}

	// The token on disk predates this --force caller: it must wait for the lock.
	m.LockTimeout = 200 * time.Millisecond
	_, err = m.Ensure(context.Background(), refresh.Options{Force: true})
	if refresh.KindOf(err) != refresh.KindTemporary {
		t.Errorf("Ensure --force while the lock is held: got %v; want lock busy", err)
	}
}

// expireFile rewrites a token file as if its access token had expired an hour
// ago.
func expireFile(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := refresh.ParseFile(data)
	if err != nil {
		t.Fatal(err)
	}
	tok.ObtainedAt = time.Now().Add(-2 * time.Hour)
	tok.Expiry = time.Now().Add(-time.Hour)
	if data, err = tok.MarshalFile(); err != nil {
		t.Fatal(err)
	}
	if err := storage.WriteFile(path, data); err != nil {
		t.Fatal(err)
	}
	if tok, err := refresh.ParseFile(data); err != nil || tok.Valid(time.Now(), 0) {
		t.Fatalf("expired token file: still valid, or %v", err)
	}
}

// TestWaitEndsWithContext: a caller's context deadline ends the wait for the
// lock even when the lock timeout is far away.
func TestWaitEndsWithContext(t *testing.T) {
	lr := newLostRace(t)
	m := lr.manager()
	m.LockTimeout = time.Hour
	lock, err := storage.AcquireLock(context.Background(), m.Paths.LockFile, 0, "pid=1 cmd=holder")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := m.Ensure(ctx, refresh.Options{})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, storage.ErrLockBusy) || refresh.KindOf(err) != refresh.KindTemporary {
			t.Errorf("got %v; want lock busy, temporary", err)
		}
	case <-time.After(30 * time.Second): // a bound on a hang, not a timing assertion
		t.Fatal("Ensure still waiting for the lock 30s after its context's deadline")
	}
}
