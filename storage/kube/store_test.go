package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/kubetest"
	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/storetest"
)

var (
	srvOnce sync.Once
	srv     *kubetest.Server
)

// server is one kube-apiserver for the package's tests (it takes seconds to
// start): each test uses a namespace of its own.
func server(t *testing.T) *kubetest.Server {
	t.Helper()
	kubetest.Binary(t)
	srvOnce.Do(func() { srv = kubetest.Start(&keep{t}) })
	if srv == nil {
		t.Fatal("kube-apiserver did not start")
	}
	return srv.With(t)
}

// keep is the first test's testing.TB, but with its Cleanup and TempDir
// deferred to TestMain's end: the server outlives the test that started it.
type keep struct{ testing.TB }

var cleanups []func()

func (k *keep) Cleanup(f func()) { cleanups = append(cleanups, f) }
func (k *keep) TempDir() string {
	d, err := os.MkdirTemp("", "kubetest")
	if err != nil {
		k.Fatal(err)
	}
	cleanups = append(cleanups, func() { os.RemoveAll(d) })
	return d
}

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}

var nsN int
var nsMu sync.Mutex

// namespace makes a fresh namespace.
func namespace(t *testing.T, s *kubetest.Server) string {
	nsMu.Lock()
	nsN++
	ns := fmt.Sprintf("t%d-%d", os.Getpid()%10000, nsN)
	nsMu.Unlock()
	s.Namespace(ns)
	return ns
}

// newHost is one host's store of profile p1 in ns, with its own files, as
// the admin (or as token when not "").
func newHost(t *testing.T, s *kubetest.Server, ns, token string, timeout, ttl time.Duration) *Store {
	t.Helper()
	dir := t.TempDir()
	kc := s.Kubeconfig(filepath.Join(dir, "kubeconfig"), token, ns)
	cfg, err := ParseURL("k8s://" + ns)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(cfg, func() (*Conn, error) {
		return Connect(func(k string) string { return map[string]string{"KUBECONFIG": kc}[k] }, "")
	})
	t.Cleanup(c.Close)
	st, err := New(Options{Client: c, SharedOptions: storage.SharedOptions{Profile: "p1", CopyFile: filepath.Join(dir, "copy.json"),
		PendingFile: filepath.Join(dir, "pending.json"), Timeout: timeout, LeaseTTL: ttl,
		Warn: func(msg string) { t.Log("warning: " + msg) }}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestContract(t *testing.T) {
	s := server(t)
	storetest.Run(t, func(t *testing.T, hosts int) []storage.Store {
		ns := namespace(t, s)
		var ss []storage.Store
		for range hosts {
			ss = append(ss, newHost(t, s, ns, "", 10*time.Second, 0))
		}
		return ss
	})
}

// TestConflictNeverOverwrites: a save on a Secret changed since Read (409)
// writes nothing, keeps the answer pending, and the next Lock's push sets
// it aside as stale rather than overwrite the newer record.
func TestConflictNeverOverwrites(t *testing.T) {
	s := server(t)
	ns := namespace(t, s)
	a := newHost(t, s, ns, "", 10*time.Second, 0)
	storetest.Put(t, a, `{"v":1}`)
	ctx := context.Background()
	l, err := a.Lock(ctx, 5*time.Second, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Read(ctx); err != nil {
		t.Fatal(err)
	}
	// Another writer changes the Secret behind the lock's back.
	s.Must("PATCH", "/api/v1/namespaces/"+ns+"/secrets/tokenkeeper-p1", map[string]any{"data": map[string]any{"record": []byte(`{"v":2}`)}})
	err = l.Save(ctx, []byte(`{"v":3}`))
	if !errors.Is(err, ErrRecordChanged) || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("save after a change: got %v, want ErrRecordChanged with the answer pending", err)
	}
	l.Unlock()
	got, err := a.Fetch(ctx)
	if err != nil || string(got) != `{"v":2}` {
		t.Fatalf("the Secret holds %s, %v; want the other writer's {\"v\":2}", got, err)
	}
	if _, err := os.Stat(a.o.PendingFile); err != nil {
		t.Fatalf("no pending file: %v", err)
	}
	l2, err := a.Lock(ctx, 5*time.Second, "test")
	if err != nil {
		t.Fatal(err)
	}
	l2.Unlock()
	if got, _ := a.Fetch(ctx); string(got) != `{"v":2}` {
		t.Fatalf("a stale pending answer overwrote the record: %s", got)
	}
	if m, _ := filepath.Glob(a.o.PendingFile + ".stale-*"); len(m) != 1 {
		t.Errorf("stale pending files: %v, want one", m)
	}
}

// TestLeaseTakeover: a holder that stops renewing (killed) keeps the Lease
// for its duration, then a waiter takes it over; its renewals keep it
// while it is held.
func TestLeaseTakeover(t *testing.T) {
	s := server(t)
	ns := namespace(t, s)
	a := newHost(t, s, ns, "", 5*time.Second, 2*time.Second)
	b := newHost(t, s, ns, "", 5*time.Second, 2*time.Second)
	ctx := context.Background()
	la, err := a.Lock(ctx, time.Second, "pid=1 a")
	if err != nil {
		t.Fatal(err)
	}
	// Held and renewed: b waits in vain for longer than the duration.
	if _, err := b.Lock(ctx, 3*time.Second, "pid=2 b"); !errors.Is(err, storage.ErrLockBusy) || !strings.Contains(err.Error(), "pid=1 a") {
		t.Fatalf("b while a renews: got %v, want busy naming a", err)
	}
	// a dies: its renewals stop, nothing frees the Lease.
	la.(*locked).StopRenewing()
	lb, err := b.Lock(ctx, 5*time.Second, "pid=2 b")
	if err != nil {
		t.Fatalf("b after a stopped renewing: %v", err)
	}
	defer lb.Unlock()
	if !lb.Expires().After(time.Now()) {
		t.Error("b's Lease already expired")
	}
	// a, back, must not save: its Lease ran out by its own clock.
	if err := la.Save(ctx, []byte(`{"a":1}`)); !errors.Is(err, ErrLockLost) {
		t.Errorf("save by the holder that lost the Lease: got %v, want ErrLockLost", err)
	}
}

// TestForbidden: an account limited to one namespace is refused elsewhere
// with a ConfigError naming the verb and the resource.
func TestForbidden(t *testing.T) {
	s := server(t)
	ns, other := namespace(t, s), namespace(t, s)
	tok := s.ServiceAccount(ns, "tk", []kubetest.Rule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "update", "delete"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	})
	here := newHost(t, s, ns, tok, 5*time.Second, 0)
	storetest.Put(t, here, `{"v":1}`)
	there := newHost(t, s, other, tok, 5*time.Second, 0)
	_, err := there.Fetch(context.Background())
	var ce *storage.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "RBAC forbids get on secrets tokenkeeper-p1 in namespace "+other) {
		t.Fatalf("elsewhere: got %v, want a ConfigError naming get on secrets", err)
	}
	if !strings.Contains(ce.Hint, "kubectl auth can-i get secrets -n "+other) {
		t.Errorf("hint: %q", ce.Hint)
	}
}

// TestNamedRoleSuffices: with the Secret and the Lease created empty
// beforehand, as docs/kubernetes.md's manifests do, an account whose Role
// names them and allows only get, update and watch renews: no create, no
// list.
func TestNamedRoleSuffices(t *testing.T) {
	s := server(t)
	ns := namespace(t, s)
	tok := s.ServiceAccount(ns, "tk", []kubetest.Rule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"tokenkeeper-p1"}, Verbs: []string{"get", "update", "watch"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{"tokenkeeper-p1"}, Verbs: []string{"get", "update"}},
	})
	meta := map[string]any{"name": "tokenkeeper-p1", "namespace": ns}
	made := map[string]any{"name": "tokenkeeper-p1", "namespace": ns, "annotations": map[string]string{"owner": "team-a"}, "labels": map[string]string{"app": "x"}}
	s.Must("POST", "/api/v1/namespaces/"+ns+"/secrets", map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": made, "type": "Opaque",
		"data": map[string]any{"note": []byte("kept")}})
	s.Must("POST", "/apis/coordination.k8s.io/v1/namespaces/"+ns+"/leases", map[string]any{"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": map[string]any{}})
	h := newHost(t, s, ns, tok, 5*time.Second, 0)
	ctx := context.Background()
	if _, err := h.Fetch(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("an empty Secret: got %v, want fs.ErrNotExist", err)
	}
	storetest.Put(t, h, `{"v":1}`)
	storetest.Put(t, h, `{"v":2}`)
	if got, err := h.Fetch(ctx); err != nil || string(got) != `{"v":2}` {
		t.Fatalf("Fetch: %s, %v", got, err)
	}
	// What the manifest put there is kept: an annotation, a label, a key.
	var sec secret
	if err := json.Unmarshal(s.Must("GET", "/api/v1/namespaces/"+ns+"/secrets/tokenkeeper-p1", nil), &sec); err != nil {
		t.Fatal(err)
	}
	if sec.Metadata.Annotations["owner"] != "team-a" || sec.Metadata.Labels["app"] != "x" || string(sec.Data["note"]) != "kept" ||
		sec.Metadata.Labels[labelPrefix] != "tokenkeeper" {
		t.Errorf("the saved Secret lost what was there or lacks the store's labels: %+v", sec.Metadata)
	}
	// watch, limited to the one name, is allowed too.
	wctx, cancel := context.WithCancel(ctx)
	seen := make(chan []byte, 16)
	go h.WatchRecord(wctx, func(data []byte) { seen <- data })
	defer cancel()
	if got := <-seen; string(got) != `{"v":2}` {
		t.Fatalf("WatchRecord's first record: %s", got)
	}
	storetest.Put(t, newHost(t, s, ns, tok, 5*time.Second, 0), `{"v":3}`)
	select {
	case got := <-seen:
		if string(got) != `{"v":3}` {
			t.Errorf("WatchRecord saw %s, want {\"v\":3}", got)
		}
	case <-time.After(30 * time.Second):
		t.Error("WatchRecord saw no save within 30 s")
	}
	// list is not allowed: Profiles says which verb, plainly.
	if _, err := h.c.Profiles(ctx); err == nil || !strings.Contains(err.Error(), "RBAC forbids list on secrets") {
		t.Errorf("Profiles without list: %v", err)
	}
}

// TestNoNamespace: a namespace that does not exist is for a person to fix
// (a ConfigError naming it), not a store that will come back.
func TestNoNamespace(t *testing.T) {
	s := server(t)
	h := newHost(t, s, "nowhere", "", 5*time.Second, 0)
	_, err := h.Lock(context.Background(), time.Second, "pid=1 test")
	var ce *storage.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "namespace nowhere") || !strings.Contains(ce.Hint, "kubectl create namespace nowhere") {
		t.Fatalf("Lock in a namespace that does not exist: %v", err)
	}
}

// dropFirst performs the first request that matches and then loses its
// answer, as a connection cut after the server applied it.
type dropFirst struct {
	rt      http.RoundTripper
	match   func(*http.Request) bool
	dropped bool
}

func (d *dropFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.rt.RoundTrip(r)
	if err == nil && !d.dropped && d.match(r) {
		d.dropped = true
		resp.Body.Close()
		return nil, errors.New("connection reset (test)")
	}
	return resp, err
}

// TestLostTakeoverAnswer: the answer to the request that took the Lease is
// lost and the request sent again (a 409 now): the Lease is recognised as
// this attempt's, not waited for until it runs out.
func TestLostTakeoverAnswer(t *testing.T) {
	s := server(t)
	ns := namespace(t, s)
	h := newHost(t, s, ns, "", 5*time.Second, 0) // a 20 s Lease
	if _, err := h.c.Conn(); err != nil {
		t.Fatal(err)
	}
	h.c.hc.Transport = &dropFirst{rt: h.c.hc.Transport, match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.Contains(r.URL.Path, "/leases")
	}}
	l, err := h.Lock(context.Background(), 2*time.Second, "pid=1 test")
	if err != nil {
		t.Fatalf("Lock after its takeover's answer was lost: %v", err)
	}
	defer l.Unlock()
	if err := l.(*locked).CheckSavable(context.Background(), 10); err != nil {
		t.Errorf("CheckSavable: %v", err)
	}
}
