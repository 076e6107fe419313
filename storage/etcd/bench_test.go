package etcd

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

type counting struct {
	n  atomic.Int64
	rt http.RoundTripper
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.rt.RoundTrip(r)
}

// BenchmarkRenewalRoundTrips is the store's side of one renewal: lock,
// read, save check, save, unlock, against a real single-member etcd.
// round-trips/op counts the HTTP requests (lease grant, lock txn, read,
// lock check, save txn, revoke).
func BenchmarkRenewalRoundTrips(b *testing.B) {
	c := etcdtest.Start(b, 1)
	cfg, _ := ParseURL(c.URL("/bench"))
	cl, _ := NewClient(cfg)
	cnt := &counting{rt: cl.hc.Transport}
	cl.hc.Transport = cnt
	dir := b.TempDir()
	s, _ := New(Options{Client: cl, SharedOptions: storage.SharedOptions{Profile: "p", CopyFile: dir + "/c", PendingFile: dir + "/p", Timeout: 5 * time.Second}})
	ctx := context.Background()
	data := []byte(`{"access_token":"x","refresh_token":"y"}`)
	b.ResetTimer()
	for b.Loop() {
		l, err := s.Lock(ctx, time.Second, "bench")
		if err != nil {
			b.Fatal(err)
		}
		l.Read(ctx)
		if err := l.CheckSavable(ctx, 64<<10); err != nil {
			b.Fatal(err)
		}
		if err := l.Save(ctx, data); err != nil {
			b.Fatal(err)
		}
		l.Unlock()
	}
	b.ReportMetric(float64(cnt.n.Load())/float64(b.N), "round-trips/op")
}

// BenchmarkReadCopy is Store.Read on a host whose read copy is there: no
// network, one file read.
func BenchmarkReadCopy(b *testing.B) {
	dir := b.TempDir()
	cfg, _ := ParseURL("etcd://127.0.0.1:1")
	cl, _ := NewClient(cfg)
	s, _ := New(Options{Client: cl, SharedOptions: storage.SharedOptions{Profile: "p", CopyFile: dir + "/c", PendingFile: dir + "/p", Timeout: time.Second}})
	s.files.WriteCopy([]byte(`{"access_token":"x"}`))
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
