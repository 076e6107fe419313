package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// On Linux the XDG base directories are the XDG Base Directory
// Specification's two rules, read here when a path is resolved: $XDG_*_HOME
// when it is an absolute path (~ and $HOME expanded), else $HOME/.config and
// $HOME/.local/state. An unset $HOME, which the specification reads as "/",
// is refused before these run (checkHome). adrg/xdg, which the
// other platforms use (xdg_other.go) for their own conventions, gives the
// same on Linux, but computes every base and user directory, and reads
// user-dirs.dirs, in its package init: 8% of the instructions of a run of
// `tokenkeeper token` that needs two of them (BENCHMARKS.md).

//
// Each returns the directory and why it was chosen: cron and systemd run with
// a bare environment, so the reason says whether the variable was used,
// ignored, or absent.

func configHome() (dir, why string) { return xdgHome(configEnv, configRel) }
func stateHome() (dir, why string)  { return xdgHome(stateEnv, stateRel) }

func xdgHome(env, rel string) (dir, why string) {
	home := os.Getenv("HOME")
	def := "XDG default ($HOME/" + rel + ")"
	v := os.Getenv(env)
	x := v
	switch {
	case strings.HasPrefix(v, "~"):
		x = filepath.Join(home, v[1:])
	case strings.HasPrefix(v, "$HOME"):
		x = filepath.Join(home, v[len("$HOME"):])
	}
	switch {
	case v == "":
		return filepath.Join(home, rel), def
	case filepath.IsAbs(x):
		return x, "$" + env
	default: // the XDG spec (and adrg/xdg) ignores relative values
		return filepath.Join(home, rel), fmt.Sprintf("%s; $%s=%q ignored, not an absolute path", def, env, v)
	}
}
