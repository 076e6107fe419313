package storage

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestRemoveTemps: what a kill -9 during WriteFile or CheckSavable leaves is
// removed, named as the libraries really name it; nothing else is touched.
func TestRemoveTemps(t *testing.T) {
	dir := tempDir(t)
	path := filepath.Join(dir, TokenFileName)
	keep := []string{
		TokenFileName, TokenFileName + LockSuffix, TokenFileName + ".corrupt-20261121T230000Z",
		"." + TokenFileName, "." + TokenFileName + "x123", "." + TokenFileName + ".check-",
		"." + TokenFileName + ".check-12a", ".credentials.json123", "credentials.json",
	}
	for _, name := range keep {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "."+TokenFileName+"42"), 0o700); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, "."+TokenFileName+"42")

	// A save and a check, each interrupted before it cleaned up.
	pending := pendingTemp(t, path)
	check, err := os.CreateTemp(dir, "."+TokenFileName+".check-*")
	if err != nil {
		t.Fatal(err)
	}
	check.Close()
	want := []string{pending, check.Name()}
	slices.Sort(want)

	got, err := RemoveTemps(path)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("RemoveTemps: got %q, %v; want %q", got, err, want)
	}
	left := dirNames(t, dir)
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Errorf("left: got %q, want %q", left, keep)
	}

	if got, err := RemoveTemps(filepath.Join(dir, "missing", TokenFileName)); got != nil || err != nil {
		t.Errorf("missing directory: got %q, %v; want nothing, no error", got, err)
	}
}
