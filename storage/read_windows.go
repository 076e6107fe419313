package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/windows"
)

// handle is what openRegular returns: a Windows file handle.
type handle = windows.Handle

// shareRetry bounds how long an open or a replace waits out another process
// that has the file open in a way that excludes it (a sharing violation), or a
// file that is being replaced (delete pending): Windows reports both as errors
// where Unix would simply let both proceed. A real permission problem is
// reported after this wait.
const shareRetry = 500 * time.Millisecond

// readFile is ReadFile; with private, path must not be a reparse point (a
// symbolic link or junction).
func readFile(path string, private bool) ([]byte, error) {
	h, size, err := openRegular(path, os.O_RDONLY, 0, private)
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(h)
	return readCapped(path, size, func(b []byte) (int, error) {
		var n uint32
		err := windows.ReadFile(h, b, &n, nil)
		if err == windows.ERROR_BROKEN_PIPE || err == windows.ERROR_HANDLE_EOF {
			return 0, nil // the end
		}
		return int(n), err
	})
}

// openRegular is how tokenkeeper opens every file it reads or locks on
// Windows: shared for reading, writing and deletion, so that a save can replace
// the file while it is open here, and accepted only if it is a file on disk
// (not a directory, console, pipe or other device). A path in the device
// namespace (\\.\…, \\?\GLOBALROOT…) is refused before it is opened: opening
// some devices has effects of its own. With private, a reparse point (a
// symbolic link, a junction) is opened as itself and refused, never followed,
// and so is a file of another owner (checkOwner).
// flag is os.O_RDONLY or os.O_RDWR, with os.O_CREATE to create a missing file.
func openRegular(path string, flag int, _ uint32, private bool) (handle, int64, error) {
	if isDevicePath(path) {
		return windows.InvalidHandle, 0, notRegular(path, fs.ModeDevice)
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return windows.InvalidHandle, 0, fmt.Errorf("storage: %w", &fs.PathError{Op: "open", Path: path, Err: err})
	}
	access := uint32(windows.GENERIC_READ)
	if flag&(os.O_RDWR|os.O_WRONLY) != 0 {
		access |= windows.GENERIC_WRITE
	}
	disposition := uint32(windows.OPEN_EXISTING)
	if flag&os.O_CREATE != 0 {
		disposition = windows.OPEN_ALWAYS
	}
	// BACKUP_SEMANTICS lets a directory be opened, so that it is named as
	// one below rather than reported as "access denied".
	attrs := uint32(windows.FILE_ATTRIBUTE_NORMAL | windows.FILE_FLAG_BACKUP_SEMANTICS)
	if private {
		attrs |= windows.FILE_FLAG_OPEN_REPARSE_POINT
	}
	var h windows.Handle
	err = retryShared(func() (err error) {
		h, err = windows.CreateFile(p, access,
			windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
			nil, disposition, attrs, 0)
		return err
	})
	if err != nil {
		return windows.InvalidHandle, 0, fmt.Errorf("storage: %w", &fs.PathError{Op: "open", Path: path, Err: err})
	}
	size, rerr := checkHandle(path, h, private)
	if rerr != nil {
		windows.CloseHandle(h)
		return windows.InvalidHandle, 0, rerr
	}
	return h, size, nil
}

// checkHandle is the rule for what an open handle may be; it returns the
// file's size.
func checkHandle(path string, h windows.Handle, private bool) (int64, error) {
	typ, err := windows.GetFileType(h)
	if err != nil {
		return 0, fmt.Errorf("storage: %w", &fs.PathError{Op: "stat", Path: path, Err: err})
	}
	switch typ {
	case windows.FILE_TYPE_DISK:
	case windows.FILE_TYPE_PIPE:
		return 0, notRegular(path, fs.ModeNamedPipe)
	case windows.FILE_TYPE_CHAR:
		return 0, notRegular(path, fs.ModeDevice|fs.ModeCharDevice)
	default:
		return 0, notRegular(path, fs.ModeDevice)
	}
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &fi); err != nil {
		return 0, fmt.Errorf("storage: %w", &fs.PathError{Op: "stat", Path: path, Err: err})
	}
	switch {
	case fi.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 && private:
		return 0, &RecordError{Name: path, link: true, Msg: "is a symbolic link or junction, which tokenkeeper does not follow here",
			Hint: "remove it; tokenkeeper creates the file it needs"}
	case fi.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY != 0:
		return 0, notRegular(path, fs.ModeDir)
	}
	if private {
		if err := checkOwner(path, h); err != nil {
			return 0, err
		}
	}
	return int64(fi.FileSizeHigh)<<32 | int64(fi.FileSizeLow), nil
}

// isDevicePath reports whether path is in the Win32 device namespace (\\.\COM1,
// \\.\PhysicalDrive0, \\.\pipe\x) or goes through the NT object namespace
// (\\?\GLOBALROOT\Device\…): never a file that tokenkeeper keeps.
func isDevicePath(path string) bool {
	p := strings.ToUpper(strings.ReplaceAll(path, "/", `\`))
	return strings.HasPrefix(p, `\\.\`) || strings.HasPrefix(p, `\??\`) ||
		strings.HasPrefix(p, `\\?\GLOBALROOT`)
}

// retryShared calls call until it succeeds, fails with something other than
// a sharing violation or a file being replaced, or shareRetry has passed.
func retryShared(call func() error) error {
	deadline := time.Now().Add(shareRetry)
	for {
		err := call()
		if !isShareBusy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isShareBusy: Windows reports a file that another process has open without
// sharing as a sharing or lock violation, and a file whose deletion or
// replacement is pending as access denied.
func isShareBusy(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION) ||
		errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

// fileOwner is not known from an fs.FileInfo on Windows, where creating a
// symbolic link takes a privilege ordinary users lack: links are not checked
// for their owner.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
