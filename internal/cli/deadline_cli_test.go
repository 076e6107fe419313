package cli

// One deadline for a run, through the binary (ftRun).

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestOneDeadlineHungStore: a store that accepts connections and never
// answers. Each operation of a run (the lock-free read, the lock, the read
// copy once the lock failed; status's health check and read) waited its own
// --timeout: three of them for token, refresh and git-credential get, two
// for status. One deadline covers the run: the first attempt waits it out,
// and every operation after it ends at once, without a connection.
func TestOneDeadlineHungStore(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"token"}, {"refresh"}, {"git-credential", "get"}, {"status"}, {"token", "-o", "exec-credential"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			store, conns := hungStore(t)
			dir := t.TempDir()
			ftCreds(t, dir, "", map[string]string{"tokenURL": "https://127.0.0.1:1/token", "grantType": "client_credentials",
				"companyUUID": "", "companyRequestToken": "", "credentialType": ""})
			done := make(chan struct{})
			var stdout, stderr string
			var code int
			go func() {
				defer close(done)
				stdout, stderr, code = ftRunIn(t, "protocol=https\nhost=127.0.0.1:1\n\n", nil,
					append([]string{"--dir", dir, "--store", store, "--timeout", "2s"}, args...)...)
			}()
			// A bound on a hang, not a timed assertion: the count below
			// is what tells one deadline from one per operation.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			select {
			case <-done:
			case <-ctx.Done():
				t.Fatal("still running after 60 s")
			}
			ftWant(t, strings.Join(args, " "), code, exitTemp, stderr)
			want := "hint: the token store did not answer in time; nothing was sent to the token endpoint"
			if args[0] == "status" {
				want = "unreachable"
			}
			if !strings.Contains(stdout+stderr, want) {
				t.Errorf("output lacks %q:\n%s%s", want, stdout, ftMask(stderr))
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("the store saw %d connections, want 1: the first attempt has the run's whole --timeout, and nothing is tried after it", n)
			}
		})
	}
}

// hungStore is a store that accepts connections and never answers: its
// etcd:// URL, and how many connections it accepted.
func hungStore(t *testing.T) (string, *atomic.Int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		conns atomic.Int64
		mu    sync.Mutex
		held  []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			mu.Lock()
			held = append(held, c) // never answered, never closed until the end
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	return "etcd://" + l.Addr().String(), &conns
}

// TestOneDeadlineZeroTimeout: --timeout 0 is the default, as it always was
// for the token endpoint, not a deadline already past.
func TestOneDeadlineZeroTimeout(t *testing.T) {
	fs := ftFake(t)
	dir := t.TempDir()
	ftCreds(t, dir, fs.TokenURL(), nil)
	stdout, stderr, code := ftRun(t, nil, "--dir", dir, "--timeout", "0", "token")
	ftWant(t, "token --timeout 0", code, exitOK, stderr)
	if stdout == "" {
		t.Error("no token printed")
	}
}
