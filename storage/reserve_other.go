//go:build !linux && !windows

package storage

import "os"

// preallocate is not available here: the caller writes and fsyncs.
func preallocate(f *os.File, size int) (bool, error) { return false, nil }
