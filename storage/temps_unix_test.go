//go:build unix

package storage

import (
	"path/filepath"
	"testing"

	"github.com/google/renameio/v2"
)

// pendingTemp leaves the temporary file of a save that was interrupted, as
// renameio names it, and returns its path.
func pendingTemp(t *testing.T, path string) string {
	t.Helper()
	pending, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pending.Close() })
	return pending.Name()
}
