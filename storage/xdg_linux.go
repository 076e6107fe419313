package storage

import (
	"cmp"
	"os"
	"path/filepath"
	"strings"
)

// On Linux the XDG base directories are the XDG Base Directory
// Specification's two rules, read here when a path is resolved: $XDG_*_HOME
// when it is an absolute path (~ and $HOME expanded), else $HOME/.config and
// $HOME/.local/state ("/" standing for an unset $HOME). adrg/xdg, which the
// other platforms use (xdg_other.go) for their own conventions, gives the
// same on Linux, but computes every base and user directory, and reads
// user-dirs.dirs, in its package init: 8% of the instructions of a run of
// `tokenkeeper token` that needs two of them (BENCHMARKS.md).

func configHome() string { return xdgHome("XDG_CONFIG_HOME", ".config") }
func stateHome() string  { return xdgHome("XDG_STATE_HOME", filepath.Join(".local", "state")) }

func xdgHome(env, rel string) string {
	home := cmp.Or(os.Getenv("HOME"), "/")
	v := os.Getenv(env)
	switch {
	case strings.HasPrefix(v, "~"):
		v = filepath.Join(home, v[1:])
	case strings.HasPrefix(v, "$HOME"):
		v = filepath.Join(home, v[len("$HOME"):])
	}
	if filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(home, rel)
}
