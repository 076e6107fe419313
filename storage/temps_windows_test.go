package storage

import (
	"path/filepath"
	"testing"
)

// pendingTemp leaves the temporary file of a save that was interrupted, as
// writeAtomic names it, and returns its path.
func pendingTemp(t *testing.T, path string) string {
	t.Helper()
	f, err := createTemp(filepath.Dir(path), "."+filepath.Base(path), true)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return f.Name()
}
