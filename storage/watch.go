package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long a file must stay quiet before a change is reported:
// editors write a file in several steps (truncate, write, chmod; or write a temp
// file and rename it), and one save must be one event.
const DefaultDebounce = 100 * time.Millisecond

// WatchFiles reports, on the returned channel, the path of each of paths that was
// created, written, renamed onto or removed, once it has been quiet for debounce.
// It watches the files' directories rather than the files (fsnotify's advice):
// a watch on a file is lost when an editor replaces it by rename, as vim, VS Code
// and `mv` do. Missing directories are created (0700) so that a file that does
// not exist yet can be waited for. The channel is closed when ctx ends.
func WatchFiles(ctx context.Context, paths []string, debounce time.Duration) (<-chan string, error) {
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("storage: watch: %w", err)
	}
	wanted := map[string]bool{}
	dirs := map[string]bool{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("storage: watch %s: %w", p, err)
		}
		wanted[abs] = true
		dirs[filepath.Dir(abs)] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(d, 0o700); err != nil {
			w.Close()
			return nil, fmt.Errorf("storage: watch %s: %w", d, err)
		}
		if err := w.Add(d); err != nil {
			w.Close()
			return nil, fmt.Errorf("storage: watch %s: %w", d, err)
		}
	}
	out := make(chan string, len(wanted))
	go debounceEvents(ctx, w, wanted, debounce, out)
	return out, nil
}

func debounceEvents(ctx context.Context, w *fsnotify.Watcher, wanted map[string]bool, debounce time.Duration, out chan<- string) {
	defer close(out)
	defer w.Close()
	pending := map[string]time.Time{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if !wanted[ev.Name] || ev.Op == fsnotify.Chmod {
				continue
			}
			pending[ev.Name] = time.Now().Add(debounce)
			timer.Reset(debounce)
		case _, ok := <-w.Errors:
			if !ok {
				return
			}
			// An overflow loses events: report every file as possibly changed.
			for p := range wanted {
				pending[p] = time.Now()
			}
			timer.Reset(0)
		case <-timer.C:
			next := flushDue(ctx, pending, out)
			if next > 0 {
				timer.Reset(next)
			}
		}
	}
}

// flushDue sends the paths whose quiet period is over and returns the wait until
// the next one is due (0 when none is pending).
func flushDue(ctx context.Context, pending map[string]time.Time, out chan<- string) time.Duration {
	now := time.Now()
	var next time.Duration
	for p, due := range pending {
		if wait := due.Sub(now); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		select {
		case out <- p:
			delete(pending, p)
		case <-ctx.Done():
			return 0
		}
	}
	return next
}
