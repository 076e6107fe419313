package storage

import "testing"

// mkfifo: Windows has no FIFO in the file system; its named pipes live in the
// device namespace, which TestDevicePathsRefused covers.
func mkfifo(t *testing.T, _ string) {
	t.Helper()
	t.Skip("no FIFOs on Windows")
}
