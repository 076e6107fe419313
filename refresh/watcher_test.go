package refresh_test

import (
	"context"
	"encoding/json"
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

func writeCredsJSON(t *testing.T, path string, c *credentials.Credentials) {
	t.Helper()
	data, _ := json.Marshal(c)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// nextEvent waits (bounded: a hang, not slowness) for the next event that match accepts.
func nextEvent(t *testing.T, events <-chan refresh.WatchEvent, what string, match func(refresh.WatchEvent) bool) refresh.WatchEvent {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event %s", what)
		}
	}
}

// TestWatcherFailures: temporary failures are retried with backoff until they
// pass; a broken credentials.json stops the retries until it is fixed; a token
// saved by another process is picked up.
func TestWatcherFailures(t *testing.T) {
	srv := newServer(t, fakeserver.Options{})
	dir := testfs.TempDir(t)
	m := newManager(t, srv, dir, nil)
	credsPath := filepath.Join(dir, "credentials.json")
	good := testCreds(srv)
	writeCredsJSON(t, credsPath, good)
	m.Creds = nil
	m.LoadCredentials = func() (*credentials.Credentials, error) { return credentials.Load(credsPath) }
	m.Client.Timeout = 300 * time.Millisecond
	for range 4 {
		srv.Fail(fakeserver.Fault{Status: 503})
	}

	events := make(chan refresh.WatchEvent, 100)
	w := &refresh.Watcher{Manager: m, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Notify: func(ev refresh.WatchEvent) { events <- ev }}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	ev := nextEvent(t, events, "failure", func(ev refresh.WatchEvent) bool { return ev.Err != nil })
	if refresh.KindOf(ev.Err) != refresh.KindTemporary || ev.Next.IsZero() {
		t.Fatalf("503s: kind %v, next %v; want a temporary failure and a retry", refresh.KindOf(ev.Err), ev.Next)
	}
	nextEvent(t, events, "bootstrapped after the retries", func(ev refresh.WatchEvent) bool {
		return ev.Err == nil && ev.Result.Action == refresh.ActionBootstrapped
	})

	bad := *good
	bad.ClientSecret = ""
	writeCredsJSON(t, credsPath, &bad)
	ev = nextEvent(t, events, "broken credentials", func(ev refresh.WatchEvent) bool { return ev.Err != nil })
	if ev.Cause != refresh.CauseCredentials || !ev.Next.IsZero() {
		t.Fatalf("broken credentials: cause %q, next %v; want %q and no retry before a fix", ev.Cause, ev.Next, refresh.CauseCredentials)
	}
	writeCredsJSON(t, credsPath, good)
	nextEvent(t, events, "repaired credentials", func(ev refresh.WatchEvent) bool {
		return ev.Err == nil && ev.Cause == refresh.CauseCredentials && !ev.Next.IsZero()
	})

	other := newManager(t, srv, dir, nil) // another process
	if _, err := other.Ensure(t.Context(), refresh.Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, events, "token from another process", func(ev refresh.WatchEvent) bool {
		return ev.Err == nil && ev.Cause == refresh.CauseTokenFile && ev.Changed
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestWatcherLinkedTokenFile: with the token file a link to a file in another
// directory, a token saved there by another process is picked up too.
func TestWatcherLinkedTokenFile(t *testing.T) {
	testfs.SkipOnWindows(t, "symbolic links")
	srv := newServer(t, fakeserver.Options{})
	dir, elsewhere := testfs.TempDir(t), testfs.TempDir(t)
	m := newManager(t, srv, dir, nil)
	target := filepath.Join(elsewhere, "token.json")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, m.Paths.TokenFile); err != nil {
		t.Fatal(err)
	}
	events := make(chan refresh.WatchEvent, 100)
	w := &refresh.Watcher{Manager: m, Notify: func(ev refresh.WatchEvent) { events <- ev }}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go w.Run(ctx)
	nextEvent(t, events, "bootstrapped", func(ev refresh.WatchEvent) bool {
		return ev.Err == nil && ev.Result.Action == refresh.ActionBootstrapped
	})
	other := newManager(t, srv, elsewhere, nil) // another process, on the target itself
	other.Paths.TokenFile, other.Paths.LockFile = target, target+".lock"
	if _, err := other.Ensure(t.Context(), refresh.Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, events, "token from another process, saved through the link's target", func(ev refresh.WatchEvent) bool {
		return ev.Err == nil && ev.Cause == refresh.CauseTokenFile && ev.Changed
	})
}
