package credentials

import (
	"runtime"

	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
)

// tempDir is t.TempDir, or under Wine one that Wine can remove; skipOnWindows
// skips a test of a Unix behaviour that Windows lacks, saying which. Both are
// testfs's, under the short names this package's tests use.
var (
	tempDir       = testfs.TempDir
	skipOnWindows = testfs.SkipOnWindows
)

// modeBitsTell is whether a file's mode bits say who may read it: not on
// Windows, where access is in the ACL and Stat shows 0666 for every file.
const modeBitsTell = runtime.GOOS != "windows"
