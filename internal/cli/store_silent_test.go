package cli

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// A store that accepts connections and never answers, through the real
// binary: the listings give up with 75, as a single profile does, and
// completion offers the local profiles without waiting for it.

// silentStore listens on loopback, accepts every connection and never
// answers; it returns a --store URL for it.
func silentStore(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read or written
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "etcd://" + l.Addr().String()
}

// bareRun runs the binary with HOME set to home, no XDG or TOKENKEEPER_*
// variable of the caller's, plus env; it is killed after hangBound (a hang,
// not a time anything is expected to take).
func bareRun(t *testing.T, home string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := tokenkeeperBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), hangBound)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = slices.DeleteFunc(cleanEnv(), func(kv string) bool {
		return strings.HasPrefix(kv, "XDG_") || strings.HasPrefix(kv, "HOME=")
	})
	cmd.Env = append(cmd.Env, "HOME="+home)
	cmd.Env = append(cmd.Env, env...)
	o := runToEnd(t, cmd)
	if ctx.Err() != nil {
		t.Fatalf("tokenkeeper %s still running after %s; stderr:\n%s", strings.Join(args, " "), hangBound, o.stderr)
	}
	return o.stdout, o.stderr, o.code
}

// mkProfileDirs makes empty profile directories under home's XDG config root.
func mkProfileDirs(t *testing.T, home string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(home, ".config", "tokenkeeper", n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStoreSilentListings: refresh --all, status --all and profiles exit 75
// (retry later) when the store does not answer, as refresh of one profile
// does: the same cause, the same code.
func TestStoreSilentListings(t *testing.T) {
	t.Parallel()
	store := silentStore(t)
	home := t.TempDir()
	mkProfileDirs(t, home, "default", "eu")
	ftCreds(t, filepath.Join(home, ".config", "tokenkeeper", "default"), "http://127.0.0.1:1/token", nil)
	env := []string{"TOKENKEEPER_STORE=" + store, "TOKENKEEPER_TIMEOUT=1s"}
	for _, args := range [][]string{{"refresh", "--all"}, {"status", "--all"}, {"profiles"}, {"refresh"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, stderr, code := bareRun(t, home, env, args...)
			if code != exitTemp {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitTemp, stderr)
			}
			if !strings.Contains(stderr, "no member answered") {
				t.Errorf("stderr does not say the store did not answer:\n%s", stderr)
			}
		})
	}
}

// TestCompletionStoreSilent: --profile <TAB> with a store that never answers
// offers the local profiles. --timeout is an hour: completion that waited
// for the store as long as a command does would hang here.
func TestCompletionStoreSilent(t *testing.T) {
	t.Parallel()
	store := silentStore(t)
	home := t.TempDir()
	mkProfileDirs(t, home, "alpha", "beta")
	env := []string{"TOKENKEEPER_STORE=" + store, "TOKENKEEPER_TIMEOUT=1h"}
	stdout, stderr, code := bareRun(t, home, env, "__complete", "token", "--profile", "")
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if want := "alpha\nbeta\n:4\n"; stdout != want {
		t.Errorf("candidates %q, want %q", stdout, want)
	}
}
