package refresh

import (
	"runtime"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
)

// tempDir is t.TempDir, or under Wine one that Wine can remove (testfs.TempDir).
func tempDir(t testing.TB) string {
	t.Helper()
	return testfs.TempDir(t)
}

// skipOnWindows skips a test of a Unix behaviour that Windows lacks, saying
// which (testfs.SkipOnWindows).
func skipOnWindows(t testing.TB, why string) {
	t.Helper()
	testfs.SkipOnWindows(t, why)
}

// modeBitsTell is whether a file's mode bits say who may read it: not on
// Windows, where access is in the ACL and Stat shows 0666 for every file.
const modeBitsTell = runtime.GOOS != "windows"
