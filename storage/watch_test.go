package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waitEvent returns the next reported path, or fails after a generous bound (a
// bound on a hang, not a timing assertion).
func waitEvent(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("no change reported")
		return ""
	}
}

func TestWatchFilesSeesWriteAndRenameSave(t *testing.T) {
	dir := tempDir(t)
	target := filepath.Join(dir, "sub", "credentials.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := WatchFiles(ctx, []string{target}, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}

	// An in-place write of a file that did not exist (its directory was created).
	if err := os.WriteFile(target, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := waitEvent(t, ch); got != target {
		t.Fatalf("got %s, want %s", got, target)
	}

	// An editor-style save: write a temp file, rename it over the target. A
	// watch on the file itself would have been lost here.
	for i := 0; i < 2; i++ {
		tmp := filepath.Join(dir, "sub", ".credentials.json.swp")
		if err := os.WriteFile(tmp, []byte(`{"appID":"x"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, target); err != nil {
			t.Fatal(err)
		}
		if got := waitEvent(t, ch); got != target {
			t.Fatalf("save %d: got %s, want %s", i, got, target)
		}
	}

	// Other files in the directory are not reported.
	if err := os.WriteFile(filepath.Join(dir, "sub", "other"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cancel()
	for p := range ch {
		if p != target {
			t.Fatalf("reported %s, which is not watched", p)
		}
	}
}

func TestWatchFilesDebouncesBurst(t *testing.T) {
	dir := tempDir(t)
	target := filepath.Join(dir, "f.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := WatchFiles(ctx, []string{target}, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(target)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		f.WriteString("x")
	}
	f.Close()
	waitEvent(t, ch)
	select {
	case p := <-ch:
		t.Fatalf("a burst of writes was reported twice (%s)", p)
	case <-time.After(400 * time.Millisecond):
	}
}
