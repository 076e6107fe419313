package testfs

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TempDir is t.TempDir, except under Wine, whose Windows API lacks what Go's
// os.RemoveAll uses there (POSIX-semantics deletion: "Invalid function"), so
// that t.TempDir's clean-up would fail every test. Under Wine the directory is
// removed file by file, and what cannot be removed is logged, not failed.
func TempDir(t testing.TB) string {
	t.Helper()
	if !Wine() {
		return t.TempDir()
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, t.Name())
	dir, err := os.MkdirTemp("", name[:min(len(name), 40)])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		filepath.WalkDir(dir, func(p string, _ fs.DirEntry, _ error) error { paths = append(paths, p); return nil })
		slices.Reverse(paths) // children before their directory
		for _, p := range paths {
			if err := os.Remove(p); err != nil {
				t.Logf("under Wine, left %s: %v", p, err)
			}
		}
	})
	return dir
}

// SkipOnWindows skips a test of a Unix behaviour that Windows does not have
// (mode bits, FIFOs, uids), saying which.
func SkipOnWindows(t testing.TB, why string) {
	t.Helper()
	if isWindows {
		t.Skip("not on Windows: " + why)
	}
}

// SkipUnderWine skips a test that real Windows passes but Wine cannot run,
// saying why.
func SkipUnderWine(t testing.TB, why string) {
	t.Helper()
	if Wine() {
		t.Skip("under Wine: " + why)
	}
}
