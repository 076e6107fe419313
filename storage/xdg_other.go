//go:build !linux && !windows

package storage

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/adrg/xdg"
)

// Beyond Linux (xdg_linux.go), adrg/xdg knows each platform's conventions
// (macOS: ~/Library/Application Support) and the XDG variables that override
// them.

func configHome() (dir, why string) { return platformHome(xdg.ConfigHome, configEnv) }
func stateHome() (dir, why string)  { return platformHome(xdg.StateHome, stateEnv) }

// platformHome says why adrg/xdg chose dir: the variable when it is an
// absolute path, else the platform's own place.
func platformHome(dir, env string) (string, string) {
	if filepath.IsAbs(os.Getenv(env)) {
		return dir, "$" + env
	}
	return dir, "the " + runtime.GOOS + " default (" + env + " unset or not absolute)"
}
