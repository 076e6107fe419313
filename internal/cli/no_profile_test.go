package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoProfileLongRunning: watch and serve on a profile that does not exist
// exit 78 at once, creating nothing, rather than wait (watch) or serve (serve)
// for a profile a typo named. bareRun bounds a hang.
func TestNoProfileLongRunning(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	mkProfileDirs(t, home, "default")
	for _, args := range [][]string{
		{"--profile", "defualt", "watch"},
		{"--profile", "defualt", "serve", "--listen", "127.0.0.1:0"},
		{"--profile", "defualt", "serve", "--socket", filepath.Join(home, "tk.sock")},
	} {
		t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
			_, stderr, code := bareRun(t, home, nil, args...)
			if code != exitConfig {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitConfig, stderr)
			}
			if !strings.Contains(stderr, "no profile defualt") || !strings.Contains(stderr, "did you mean --profile default?") {
				t.Errorf("stderr does not name the profile and the nearest one:\n%s", stderr)
			}
			for _, dir := range []string{filepath.Join(home, ".config", "tokenkeeper", "defualt"), filepath.Join(home, ".local", "state", "tokenkeeper", "defualt")} {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("%s: %v, want no such directory", dir, err)
				}
			}
		})
	}
}
