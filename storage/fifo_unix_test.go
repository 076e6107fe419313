//go:build unix

package storage

import (
	"syscall"
	"testing"
)

// mkfifo makes a FIFO at path: opening it for reading without O_NONBLOCK
// waits for a writer for ever, so a test that hangs here fails by its timeout.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("cannot make a FIFO: %v", err)
	}
}
