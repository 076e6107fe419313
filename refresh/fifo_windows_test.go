package refresh

import "testing"

// mkfifo: Windows has no FIFO in the file system (storage's tests cover its
// device paths).
func mkfifo(t *testing.T, _ string) {
	t.Helper()
	t.Skip("no FIFOs on Windows")
}
