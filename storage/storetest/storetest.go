// Package storetest is the contract of storage.Store, run against every
// store (the file store in package storage, the etcd store in
// storage/etcd) so that the lifecycle can rely on the same behaviour from
// each.
package storetest

import (
	"context"
	"errors"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Hosts makes n stores of one fresh, empty profile record, as n processes
// (or n hosts) would each open it.
type Hosts func(t *testing.T, n int) []storage.Store

// Run runs the contract's cases.
func Run(t *testing.T, hosts Hosts) {
	t.Run("EmptyReadIsNotExist", func(t *testing.T) { emptyRead(t, hosts(t, 1)[0]) })
	t.Run("SaveThenReadEverywhere", func(t *testing.T) { saveRead(t, hosts(t, 2)) })
	t.Run("LockExcludes", func(t *testing.T) { lockExcludes(t, hosts(t, 2)) })
	t.Run("SetAside", func(t *testing.T) { setAside(t, hosts(t, 2)) })
	t.Run("MutualExclusion", func(t *testing.T) { mutualExclusion(t, hosts(t, 4)) })
}

func emptyRead(t *testing.T, s storage.Store) {
	ctx := context.Background()
	if _, err := s.Read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read: got %v, want fs.ErrNotExist", err)
	}
	l := lock(t, s, time.Second)
	defer l.Unlock()
	if _, err := l.Read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Locked.Read: got %v, want fs.ErrNotExist", err)
	}
	if exp := l.Expires(); !exp.IsZero() && !exp.After(time.Now()) {
		t.Errorf("Expires = %v: neither zero (never) nor in the future", exp)
	}
	if s.Name() == "" {
		t.Error("Name is empty")
	}
}

func lock(t *testing.T, s storage.Store, timeout time.Duration) storage.Locked {
	t.Helper()
	l, err := s.Lock(context.Background(), timeout, "pid=1 contract")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	return l
}

// Put saves data as the record as a renewing run does: under the lock,
// read first, CheckSavable, then Save. For a store's own tests.
func Put(t *testing.T, s storage.Store, data string) {
	t.Helper()
	save(t, s, func([]byte) []byte { return []byte(data) })
}

// save reads under the lock and saves fn(what was read).
func save(t *testing.T, s storage.Store, fn func(old []byte) []byte) {
	t.Helper()
	ctx := context.Background()
	l := lock(t, s, 30*time.Second)
	defer l.Unlock()
	old, err := l.Read(ctx)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Locked.Read: %v", err)
	}
	data := fn(old)
	if err := l.CheckSavable(ctx, len(data)); err != nil {
		t.Fatalf("CheckSavable: %v", err)
	}
	if err := l.Save(ctx, data); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func saveRead(t *testing.T, hs []storage.Store) {
	ctx := context.Background()
	save(t, hs[0], func([]byte) []byte { return []byte(`{"n":1}`) })
	for i, s := range hs {
		if got, err := s.Read(ctx); err != nil || string(got) != `{"n":1}` {
			t.Errorf("host %d Read: %q, %v", i, got, err)
		}
	}
	save(t, hs[1], func(old []byte) []byte { return append(old[:len(old):len(old)], ' ') })
	l := lock(t, hs[0], time.Second)
	defer l.Unlock()
	if got, err := l.Read(context.Background()); err != nil || string(got) != `{"n":1} ` {
		t.Errorf("host 0 Locked.Read after host 1 saved: %q, %v", got, err)
	}
}

func lockExcludes(t *testing.T, hs []storage.Store) {
	l := lock(t, hs[0], time.Second)
	_, err := hs[1].Lock(context.Background(), 200*time.Millisecond, "pid=2 contract")
	var busy *storage.LockBusyError
	if !errors.As(err, &busy) || !errors.Is(err, storage.ErrLockBusy) {
		t.Fatalf("second Lock: got %v, want *storage.LockBusyError", err)
	}
	// A store shared by hosts may add where the holder runs.
	if busy.Holder != "pid=1 contract" && !strings.HasPrefix(busy.Holder, "pid=1 contract on ") {
		t.Errorf("holder named %q, want %q", busy.Holder, "pid=1 contract")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	lock(t, hs[1], 5*time.Second).Unlock()
}

func setAside(t *testing.T, hs []storage.Store) {
	ctx := context.Background()
	save(t, hs[0], func([]byte) []byte { return []byte("not json") })
	l := lock(t, hs[0], time.Second)
	defer l.Unlock()
	if _, err := l.Read(ctx); err != nil {
		t.Fatal(err)
	}
	where, err := l.SetAside(ctx, time.Now())
	if err != nil || where == "" {
		t.Fatalf("SetAside: %q, %v", where, err)
	}
	if _, err := l.Read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Locked.Read after SetAside: %v, want fs.ErrNotExist", err)
	}
}

// mutualExclusion: hosts increment a counter under the lock at the same
// time; no increment is lost.
func mutualExclusion(t *testing.T, hs []storage.Store) {
	const each = 5
	var wg sync.WaitGroup
	for _, s := range hs {
		wg.Go(func() {
			for range each {
				save(t, s, func(old []byte) []byte {
					n, _ := strconv.Atoi(string(old))
					return []byte(strconv.Itoa(n + 1))
				})
			}
		})
	}
	wg.Wait()
	l := lock(t, hs[0], 5*time.Second)
	defer l.Unlock()
	got, err := l.Read(context.Background())
	if want := strconv.Itoa(each * len(hs)); err != nil || string(got) != want {
		t.Fatalf("counter = %q, %v; want %s", got, err, want)
	}
}
