package storage

import (
	"path/filepath"
	"testing"

	"github.com/adrg/xdg"
)

// TestXDGHomeAgreesWithAdrgXDG: on Linux the two base directories are ours
// (xdg_linux.go) so that adrg/xdg's init stays out of every run; they must
// be what adrg/xdg says for every kind of value the variables can hold.
func TestXDGHomeAgreesWithAdrgXDG(t *testing.T) {
	t.Cleanup(xdg.Reload) // after the variables are restored
	for _, tt := range []struct{ home, config, state string }{
		{"/home/u", "", ""},
		{"/home/u", "/x/config", "/x/state"},
		{"/home/u", "relative/config", "./state"},
		{"/home/u", "~/cfg", "$HOME/st"},
		{"/home/u", "~", "$HOME"},
		{"", "", ""},
		{"", "/abs", "rel"},
		{"/home/u/", "/a/../b/", "/c//d"},
	} {
		t.Setenv("HOME", tt.home)
		t.Setenv("XDG_CONFIG_HOME", tt.config)
		t.Setenv("XDG_STATE_HOME", tt.state)
		xdg.Reload()
		if tt.home == "" {
			// Without HOME, Resolve takes a variable only as an absolute path
			// (checkHome refuses the rest): where the two meet, they agree.
			if filepath.IsAbs(tt.config) {
				if got, _ := configHome(); got != xdg.ConfigHome {
					t.Errorf("HOME unset, XDG_CONFIG_HOME=%q: configHome() = %q, adrg/xdg %q", tt.config, got, xdg.ConfigHome)
				}
			}
			continue
		}
		if got, _ := configHome(); got != xdg.ConfigHome {
			want := xdg.ConfigHome
			t.Errorf("HOME=%q XDG_CONFIG_HOME=%q: configHome() = %q, adrg/xdg %q", tt.home, tt.config, got, want)
		}
		if got, _ := stateHome(); got != xdg.StateHome {
			want := xdg.StateHome
			t.Errorf("HOME=%q XDG_STATE_HOME=%q: stateHome() = %q, adrg/xdg %q", tt.home, tt.state, got, want)
		}
	}
}
