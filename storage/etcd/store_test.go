package etcd

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/storetest"
)

// host is one simulated host: its own state directory, its own client.
type host struct {
	dir string
	s   *Store
}

func newHost(t *testing.T, url string, timeout, ttl time.Duration) *host {
	t.Helper()
	cfg, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.AttemptTimeout = 500 * time.Millisecond
	t.Cleanup(c.Close)
	dir := t.TempDir()
	s, err := New(Options{Client: c, SharedOptions: storage.SharedOptions{Profile: "p1",
		CopyFile:    filepath.Join(dir, "copy.json"),
		PendingFile: filepath.Join(dir, "pending.json"),
		Timeout:     timeout, LeaseTTL: ttl,
		Warn: func(msg string) { t.Log("warning: " + msg) },
	}})
	if err != nil {
		t.Fatal(err)
	}
	return &host{dir: dir, s: s}
}

// twoHosts starts etcd (one member) and two hosts of profile p1 under
// prefix, with a store timeout of 5 s and a lease of ttl (0: LeaseTTL's).
func twoHosts(t *testing.T, prefix string, ttl time.Duration) (*etcdtest.Cluster, *host, *host) {
	t.Helper()
	c := etcdtest.Start(t, 1)
	return c, newHost(t, c.URL(prefix), 5*time.Second, ttl), newHost(t, c.URL(prefix), 5*time.Second, ttl)
}

func TestStoreRoundTripAndReadCopy(t *testing.T) {
	t.Parallel()
	c, a, b := twoHosts(t, "/t1", 0)
	ctx := context.Background()
	if _, err := a.s.Read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of nothing: got %v, want fs.ErrNotExist", err)
	}
	storetest.Put(t, a.s, `{"v":1}`)
	got, err := b.s.Read(ctx)
	if err != nil || string(got) != `{"v":1}` {
		t.Fatalf("b reads %q, %v; want {\"v\":1}", got, err)
	}
	fi, err := os.Stat(filepath.Join(b.dir, "copy.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("b's read copy: %v, %v; want mode 0600", fi, err)
	}
	// With etcd gone, the read copy is still served: no network on Read.
	c.Members[0].Kill()
	got, err = b.s.Read(ctx)
	if err != nil || string(got) != `{"v":1}` {
		t.Fatalf("b reads %q, %v with etcd down; want its copy", got, err)
	}
	start := time.Now()
	_, err = b.s.Lock(ctx, time.Minute, "test")
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Lock with etcd down: got %v, want storage.ErrUnavailable", err)
	}
	if waited := time.Since(start); waited > 5*time.Second+2*time.Second {
		t.Errorf("Lock gave up after %s; want within the store's timeout (5s), not the lock timeout", waited)
	}
}

func TestLockExcludesAndNamesHolder(t *testing.T) {
	t.Parallel()
	_, a, b := twoHosts(t, "", 0)
	ctx := context.Background()
	la, err := a.s.Lock(ctx, time.Second, "pid=1 host=a")
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.s.Lock(ctx, 300*time.Millisecond, "pid=2 host=b")
	var busy *storage.LockBusyError
	if !errors.As(err, &busy) || busy.Holder != "pid=1 host=a" || !strings.Contains(busy.Path, "/tokenkeeper/p1/lock") {
		t.Fatalf("b's Lock while a holds it: got %v, want LockBusyError naming pid=1 host=a", err)
	}
	got := make(chan error, 1)
	go func() {
		lb, err := b.s.Lock(ctx, 10*time.Second, "pid=2 host=b")
		if err == nil {
			lb.Unlock()
		}
		got <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := la.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("b waiting for the lock: %v", err)
	}
}

// A holder whose lease runs out (killed, paused, partitioned) loses the
// lock to a waiter within the TTL, and its save then writes nothing to
// etcd: the answer goes to its pending file, which its next run pushes only
// if the record is still the one it replaced.
func TestLostLockSavesNothingAndKeepsPending(t *testing.T) {
	t.Parallel()
	_, a, b := twoHosts(t, "", 2*time.Second)
	ctx := context.Background()
	storetest.Put(t, a.s, `{"v":1}`)

	la, err := a.s.Lock(ctx, time.Second, "a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := la.Read(ctx); err != nil {
		t.Fatal(err)
	}
	la.(*locked).StopRenewing() // as if a were paused: no more keep-alives
	start := time.Now()
	lb, err := b.s.Lock(ctx, 10*time.Second, "b")
	if err != nil {
		t.Fatalf("b did not get the lock after a's lease ran out: %v", err)
	}
	if waited := time.Since(start); waited > 4*time.Second {
		t.Errorf("b waited %s; want within a's TTL (2 s, etcd rounds up a little)", waited)
	}
	if !la.Expires().Before(time.Now()) {
		t.Errorf("a's Expires %v is not past", la.Expires())
	}
	err = la.Save(ctx, []byte(`{"v":"a-late"}`))
	if !errors.Is(err, ErrLockLost) {
		t.Fatalf("a's late save: got %v, want ErrLockLost", err)
	}
	if got, _ := lb.Read(ctx); string(got) != `{"v":1}` {
		t.Fatalf("record after a lost save: %q, want {\"v\":1}", got)
	}
	if _, base, err := a.s.readPending(); err != nil || base == 0 {
		t.Fatalf("a's pending file: base %d, %v", base, err)
	}
	lb.Unlock()

	// a's next run pushes the pending answer: the record is still the one
	// it was meant to replace.
	got, err := a.s.Read(ctx)
	if err != nil || string(got) != `{"v":"a-late"}` {
		t.Fatalf("a's next Read: %q, %v", got, err)
	}
	if _, err := os.Stat(a.s.o.PendingFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pending file still there after the push: %v", err)
	}
	if got, err := b.s.Fetch(ctx); string(got) != `{"v":"a-late"}` {
		t.Errorf("etcd after the push: %q, %v", got, err)
	}
}

func TestPendingNotPushedOverANewerRecord(t *testing.T) {
	t.Parallel()
	_, a, b := twoHosts(t, "", 0)
	ctx := context.Background()
	storetest.Put(t, a.s, `{"v":1}`)
	la, _ := a.s.Lock(ctx, time.Second, "a")
	la.Read(ctx)
	// Someone else writes (as a holder after a's lease ran out would).
	if _, err := b.s.o.Client.Put(ctx, PutRequest{Key: []byte(b.s.recordKey), Value: []byte(`{"v":"b"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := la.Save(ctx, []byte(`{"v":"a"}`)); !errors.Is(err, ErrRecordChanged) {
		t.Fatalf("save over a changed record: got %v, want ErrRecordChanged", err)
	}
	la.Unlock()
	lb, err := a.s.Lock(ctx, time.Second, "a again")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := lb.Read(ctx)
	lb.Unlock()
	if string(got) != `{"v":"b"}` {
		t.Fatalf("record: %q, want b's", got)
	}
	stale, _ := filepath.Glob(a.s.o.PendingFile + ".stale-*")
	if len(stale) != 1 {
		t.Fatalf("stale pending files: %v, want one kept aside", stale)
	}
}

func TestSetAside(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 1)
	a := newHost(t, c.URL(""), 5*time.Second, 0)
	ctx := context.Background()
	storetest.Put(t, a.s, `not json`)
	l, _ := a.s.Lock(ctx, time.Second, "a")
	defer l.Unlock()
	l.Read(ctx)
	where, err := l.SetAside(ctx, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || !strings.HasSuffix(where, "/tokenkeeper/p1/corrupt-20261201T000000.000000000Z") {
		t.Fatalf("SetAside: %q, %v", where, err)
	}
	if _, err := l.Read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("record after SetAside: %v, want none", err)
	}
	kv, _, _ := a.s.o.Client.Get(ctx, strings.TrimPrefix(where, a.s.endpointsForMessage))
	if kv == nil || string(kv.Value) != "not json" {
		t.Fatalf("aside key holds %v", kv)
	}
}

// Leases are kept alive while held: a holder that works longer than the TTL
// keeps its lock.
func TestKeepAliveHoldsPastTTL(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 1)
	a := newHost(t, c.URL(""), 5*time.Second, 2*time.Second)
	ctx := context.Background()
	l, err := a.s.Lock(ctx, time.Second, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	time.Sleep(3500 * time.Millisecond)
	if err := l.CheckSavable(ctx, 10); err != nil {
		t.Fatalf("after 1.75 TTLs: %v", err)
	}
	if left := time.Until(l.Expires()); left <= 0 || left > 2*time.Second {
		t.Errorf("Expires in %s; want within (0, 2s]", left)
	}
}

func TestLeaderKilledKeepsWorking(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 3)
	a := newHost(t, c.URL(""), 10*time.Second, 0)
	storetest.Put(t, a.s, `{"v":1}`)
	leader := c.Leader()
	if leader < 0 {
		t.Fatal("no leader")
	}
	c.Members[leader].Kill()
	storetest.Put(t, a.s, `{"v":2}`)
	got, err := a.s.Fetch(context.Background())
	if err != nil || !bytes.Equal(got, []byte(`{"v":2}`)) {
		t.Fatalf("after the leader was killed: %q, %v", got, err)
	}
}

// A waiter's host copy follows the holder's save while it waits, so the
// lifecycle's next lock-free read sees the renewed token without the lock.
func TestWaiterSeesTheSave(t *testing.T) {
	t.Parallel()
	_, a, b := twoHosts(t, "", 0)
	ctx := context.Background()
	storetest.Put(t, a.s, `{"v":1}`)
	if _, err := b.s.Read(ctx); err != nil {
		t.Fatal(err)
	}
	la, err := a.s.Lock(ctx, time.Second, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer la.Unlock()
	la.Read(ctx)
	waited := make(chan error, 1)
	go func() {
		_, err := b.s.Lock(ctx, 1500*time.Millisecond, "b")
		waited <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := la.Save(ctx, []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; !errors.Is(err, storage.ErrLockBusy) {
		t.Fatalf("b's Lock: got %v, want busy (a still holds it)", err)
	}
	if got, _ := b.s.Read(ctx); string(got) != `{"v":2}` {
		t.Fatalf("b's copy after waiting: %q, want a's save", got)
	}
	if l := la.(*locked); l.lease == 0 {
		t.Fatal("a holds no lease")
	}
}

// TestPendingFileReadBack: a pending file is only written if it can be read
// back whole: base64 makes a record 4/3 longer, so a record near the cap would
// make a file that storage.ReadRecord cuts, that never parses and is never
// pushed, while Save said it was kept.
func TestPendingFileReadBack(t *testing.T) {
	h := newHost(t, "etcd://127.0.0.1:1", time.Second, 0)
	fits := bytes.Repeat([]byte("b"), 700<<10)
	if err := h.s.writePending(fits, 7); err != nil {
		t.Fatalf("writePending(%d bytes): %v", len(fits), err)
	}
	if got, base, err := h.s.readPending(); err != nil || base != 7 || !bytes.Equal(got, fits) {
		t.Fatalf("readPending: %d bytes, base %d, %v; want %d bytes, base 7", len(got), base, err, len(fits))
	}
	if err := os.Remove(h.s.o.PendingFile); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("a"), storage.MaxFileSize*3/4+1)
	if err := h.s.writePending(big, 7); err == nil {
		t.Errorf("writePending(%d bytes): no error, want one (the file could not be read back)", len(big))
	}
	if _, err := os.Lstat(h.s.o.PendingFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pending file: %v, want none written", err)
	}
}

// writePending keeps data in the pending file with the revision it replaces.
func (s *Store) writePending(data []byte, base int64) error {
	return s.files.WritePending(data, base, nil)
}

// readPending is the pending answer and the record revision it was meant to
// replace (0: none).
func (s *Store) readPending() ([]byte, int64, error) {
	var base int64
	data, err := s.files.ReadPending(&base)
	return data, base, err
}
