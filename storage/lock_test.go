package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// lockChildEnv switches the re-executed test binary into a lock holder; its
// value is the lock file path.
const lockChildEnv = "TOKENKEEPER_STORAGE_TEST_LOCK_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockChildEnv); path != "" {
		os.Exit(lockChild(path))
	}
	os.Exit(m.Run())
}

// lockChild takes the lock, says "locked" on stdout and holds it until its
// stdin is closed: the parent decides how long, no sleeps needed.
func lockChild(path string) int {
	holder := fmt.Sprintf("pid=%d cmd=storage-test-child since=2026-11-21T23:00:00Z", os.Getpid())
	l, err := AcquireLock(context.Background(), path, time.Minute, holder)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := l.Unlock(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startLockChild runs the test binary as a separate process holding the lock
// at path, and returns once it holds it. Closing stdin releases it.
func startLockChild(t *testing.T, path string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("child: got %q, %v; want \"locked\"", line, err)
	}
	return cmd, stdin
}

func TestLockCrossProcess(t *testing.T) {
	path := filepath.Join(tempDir(t), "refreshTokenObjectFile.json.lock")
	ctx := context.Background()
	cmd, stdin := startLockChild(t, path)

	_, err := AcquireLock(ctx, path, 30*time.Millisecond, "pid=0 cmd=parent")
	var busy *LockBusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrLockBusy) {
		t.Fatalf("while child holds the lock: got %v, want *LockBusyError", err)
	}
	wantHolder := fmt.Sprintf("pid=%d cmd=storage-test-child", cmd.Process.Pid)
	if !strings.HasPrefix(busy.Holder, wantHolder) {
		t.Errorf("Holder: got %q, want prefix %q", busy.Holder, wantHolder)
	}

	// A waiter with time to spare gets the lock once the child lets go.
	type result struct {
		l   *Lock
		err error
	}
	got := make(chan result, 1)
	go func() {
		l, err := AcquireLock(ctx, path, 10*time.Minute, "pid=0 cmd=parent")
		got <- result{l, err}
	}()
	stdin.Close()
	r := <-got
	if r.err != nil {
		t.Fatalf("after child released: %v", r.err)
	}
	defer r.l.Unlock()
	if err := cmd.Wait(); err != nil {
		t.Errorf("child: %v", err)
	}
	if got := readHolder(path); got != "pid=0 cmd=parent" {
		t.Errorf("lock file holder: got %q, want the new holder", got)
	}
}

func TestLockReleasedWhenHolderKilled(t *testing.T) {
	path := filepath.Join(tempDir(t), "x.lock")
	cmd, _ := startLockChild(t, path)
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to unlock
		t.Fatal(err)
	}
	_ = cmd.Wait()
	l, err := AcquireLock(context.Background(), path, time.Minute, "after kill")
	if err != nil {
		t.Fatalf("after holder was killed: %v", err)
	}
	l.Unlock()
}

func TestLockBusyInProcess(t *testing.T) {
	path := filepath.Join(tempDir(t), "state", "tok.json.lock")
	ctx := context.Background()
	holder := "pid=1234 cmd=tokenkeeper token since=2026-11-21T23:00:00Z"
	l, err := AcquireLock(ctx, path, 0, holder)
	if err != nil {
		t.Fatal(err)
	}
	if m := mode(t, path); modeBitsTell && m != 0o600 {
		t.Errorf("lock file mode: got %04o, want 0600", m)
	}
	if m := mode(t, filepath.Dir(path)); modeBitsTell && m != 0o700 {
		t.Errorf("lock dir mode: got %04o, want 0700", m)
	}

	for _, timeout := range []time.Duration{0, -1, 20 * time.Millisecond} {
		_, err = AcquireLock(ctx, path, timeout, "second")
		var busy *LockBusyError
		if !errors.As(err, &busy) {
			t.Fatalf("timeout %v: got %v, want *LockBusyError", timeout, err)
		}
		if busy.Path != path || busy.Holder != holder || busy.Waited < timeout {
			t.Errorf("timeout %v: got %+v, want path %s, holder %q, waited ≥ timeout", timeout, busy, path, holder)
		}
		want := "storage: lock busy: " + path + " held by " + holder + " (waited "
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("got %q, want prefix %q", err, want)
		}
	}

	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("lock file after Unlock: %v (it must never be deleted)", err)
	}
	if got := readHolder(path); got != "" {
		t.Errorf("holder after Unlock: got %q, want it cleared", got)
	}
	l2, err := AcquireLock(ctx, path, 0, "third")
	if err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
	l2.Unlock()
}

func TestLockContextCanceled(t *testing.T) {
	path := filepath.Join(tempDir(t), "l")
	l, err := AcquireLock(context.Background(), path, 0, "first")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = AcquireLock(ctx, path, time.Minute, "second")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrLockBusy) || !strings.Contains(err.Error(), path) {
		t.Errorf("canceled: got %v, want context.Canceled naming %s", err, path)
	}

	// The caller's own deadline ending the wait is still "busy": the
	// message should name the holder.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = AcquireLock(ctx, path, time.Minute, "third")
	if !errors.Is(err, ErrLockBusy) {
		t.Errorf("caller deadline: got %v, want ErrLockBusy", err)
	}
}

func TestLockErrors(t *testing.T) {
	path, _ := blockedPath(t)
	_, err := AcquireLock(context.Background(), path, 0, "x")
	if err == nil || !strings.HasPrefix(err.Error(), "storage: lock "+path+": ") {
		t.Errorf("got %v, want storage: lock %s: …", err, path)
	}
	var nilLock *Lock
	if err := nilLock.Unlock(); err != nil {
		t.Errorf("nil Unlock: %v", err)
	}
}

// TestLockExcludes has many goroutines, each with its own Lock (its own open
// file description), take turns; none may overlap another.
func TestLockExcludes(t *testing.T) {
	path := filepath.Join(tempDir(t), "l")
	var inside, entered atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := AcquireLock(context.Background(), path, 10*time.Minute, fmt.Sprintf("g%d", i))
			if err != nil {
				t.Error(err)
				return
			}
			if n := inside.Add(1); n != 1 {
				t.Errorf("%d holders at once, want 1", n)
			}
			entered.Add(1)
			inside.Add(-1)
			if err := l.Unlock(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := entered.Load(); got != 20 {
		t.Errorf("entered %d times, want 20", got)
	}
}

func TestLockBusyErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  LockBusyError
		want string
	}{
		{"holder known", LockBusyError{"/s/l", "pid=7 cmd=x since=y", 60*time.Second + 12*time.Millisecond},
			"storage: lock busy: /s/l held by pid=7 cmd=x since=y (waited 1m0s)"},
		{"holder unknown", LockBusyError{"/s/l", "", 1500 * time.Microsecond},
			"storage: lock busy: /s/l held by another process (no holder recorded) (waited 2ms)"},
		{"no wait", LockBusyError{"/s/l", "h", 0},
			"storage: lock busy: /s/l held by h (waited 0s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadHolder(t *testing.T) {
	dir := tempDir(t)
	tests := []struct{ name, content, want string }{
		{"normal", "pid=1 cmd=a since=b\n", "pid=1 cmd=a since=b"},
		{"control characters", "pid=1\x1b[31m\r\nevil", "pid=1 [31m evil"},
		{"long", strings.Repeat("a", 2000), strings.Repeat("a", maxHolderLen)},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := readHolder(path); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := readHolder(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("missing: got %q, want empty", got)
	}
}

// FuzzReadHolder: the lock file is outside input that ends up in a message.
func FuzzReadHolder(f *testing.F) {
	f.Add("pid=1234 cmd=tokenkeeper token since=2026-11-21T23:00:00Z\n")
	f.Add("\x00\x1b\xff\n\t")
	// cleanHolder is what readHolder applies to the file's bytes: fuzzing it
	// directly spares a file write per input.
	f.Fuzz(func(t *testing.T, content string) {
		for _, r := range cleanHolder([]byte(content)) {
			if r < ' ' || r == 0x7f {
				t.Fatalf("control character %U in holder from %q", r, content)
			}
		}
	})
}

// TestHolderWrittenInPlace: the holder record is written over the old one, never
// by truncating the lock file (see writeHolder), and is cut to its fixed size.
func TestHolderWrittenInPlace(t *testing.T) {
	path := filepath.Join(tempDir(t), "f.lock")
	ctx := context.Background()
	for _, holder := range []string{"pid=1 cmd=a long holder name " + strings.Repeat("x", 300), "pid=2 cmd=b"} {
		l, err := AcquireLock(ctx, path, 0, holder)
		if err != nil {
			t.Fatal(err)
		}
		want := holder
		if len(want) > holderSize-1 {
			want = want[:holderSize-1]
		}
		if got := readHolder(path); got != want {
			t.Errorf("holder: got %q, want %q", got, want)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != holderSize {
			t.Errorf("lock file size: got %v (%v), want %d", fi.Size(), err, holderSize)
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
}

// A lock file's holder text reaches a terminal in the busy message: a C1
// control (U+009B is a terminal's CSI, as ESC [ is) or an invalid byte must
// not come through, any more than a C0 one.
func TestReadHolderC1(t *testing.T) {
	path := filepath.Join(tempDir(t), "x.lock")
	if err := os.WriteFile(path, []byte("pid=1 cmd=\u009b2J\u0085tk\xff since=now\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := readHolder(path)
	if !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		t.Fatalf("readHolder = %q, want printable text only", got)
	}
	if !strings.HasPrefix(got, "pid=1 cmd=") || !strings.HasSuffix(got, "since=now") {
		t.Fatalf("readHolder = %q, want the printable part kept", got)
	}
}
