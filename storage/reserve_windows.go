package storage

import (
	"errors"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// preallocate sets f's allocation size (FileAllocationInfo), which reserves
// the clusters at once and fails with "disk full" or a quota error when they
// are not there, as fallocate(2) does on Linux. done is false where the file
// system cannot do it; the caller then writes and flushes.
func preallocate(f *os.File, size int) (done bool, err error) {
	info := struct{ AllocationSize int64 }{int64(size)}
	err = windows.SetFileInformationByHandle(windows.Handle(f.Fd()), windows.FileAllocationInfo,
		(*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, windows.ERROR_INVALID_PARAMETER), errors.Is(err, windows.ERROR_NOT_SUPPORTED),
		errors.Is(err, windows.ERROR_INVALID_FUNCTION), errors.Is(err, windows.ERROR_CALL_NOT_IMPLEMENTED):
		return false, nil
	}
	return false, err
}
