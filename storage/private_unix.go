//go:build unix

package storage

import "os"

// createPrivate creates a new file at path, exclusively, mode 0600 (less the
// umask) from its first instant.
func createPrivate(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
}
