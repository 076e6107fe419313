package etcd

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/storetest"
)

func TestProfilesHealthAndWatch(t *testing.T) {
	t.Parallel()
	c := etcdtest.Start(t, 1)
	a := newHost(t, c.URL("/h"), 5*time.Second, 0)
	b := newHost(t, c.URL("/h"), 5*time.Second, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if h := a.s.Health(ctx); !h.Reachable || h.Record || h.Holder != "" {
		t.Fatalf("health of an empty store: %+v", h)
	}
	seen := make(chan string, 10)
	done := make(chan error, 1)
	go func() { done <- b.s.WatchRecord(ctx, func(d []byte) { seen <- string(d) }) }()
	time.Sleep(300 * time.Millisecond) // let the watch start
	storetest.Put(t, a.s, `{"v":1}`)
	select {
	case got := <-seen:
		if got != `{"v":1}` {
			t.Fatalf("watch saw %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watch saw nothing in 5 s")
	}
	if got, _ := storage.ReadRecord(b.s.o.CopyFile); string(got) != `{"v":1}` {
		t.Errorf("b's copy after the watch: %q", got)
	}
	l, _ := a.s.Lock(ctx, time.Second, "pid=7")
	if h := a.s.Health(ctx); !h.Reachable || !h.Record || h.Holder != "pid=7" || h.Revised == 0 {
		t.Errorf("health with a record and a holder: %+v", h)
	}
	l.Unlock()
	other, _ := New(Options{Client: a.s.o.Client, SharedOptions: storage.SharedOptions{Profile: "zeta", CopyFile: a.dir + "/z", PendingFile: a.dir + "/zp", Timeout: time.Second}})
	storetest.Put(t, other, `{}`)
	names, err := a.s.o.Client.Profiles(ctx)
	if err != nil || !reflect.DeepEqual(names, []string{"p1", "zeta"}) {
		t.Fatalf("Profiles: %v, %v", names, err)
	}
	cancel()
	<-done
}

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{"/a/": "/a0", "a\xff": "b", "\xff\xff": "\x00"} {
		if got := string(prefixEnd([]byte(in))); got != want {
			t.Errorf("prefixEnd(%q) = %q, want %q", in, got, want)
		}
	}
}
