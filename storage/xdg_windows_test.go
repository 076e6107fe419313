package storage

import (
	"testing"

	"github.com/adrg/xdg"
)

// TestWindowsHomeAgreesWithAdrgXDG: on Windows the two base directories are
// ours (xdg_windows.go) so that adrg/xdg's init, which loads shell32 and a
// dozen DLLs, stays out of every run; they must be where adrg/xdg puts them.
func TestWindowsHomeAgreesWithAdrgXDG(t *testing.T) {
	t.Cleanup(xdg.Reload) // after the variables are restored
	for _, tt := range []struct{ config, state string }{
		{"", ""},
		{`C:\x\config`, `D:\x\state`},
		{`relative\config`, `.\state`},
	} {
		t.Setenv("XDG_CONFIG_HOME", tt.config)
		t.Setenv("XDG_STATE_HOME", tt.state)
		xdg.Reload()
		if got, _ := configHome(); got != xdg.ConfigHome {
			t.Errorf("XDG_CONFIG_HOME=%q: configHome() = %q, adrg/xdg %q", tt.config, got, xdg.ConfigHome)
		}
		if got, _ := stateHome(); got != xdg.StateHome {
			t.Errorf("XDG_STATE_HOME=%q: stateHome() = %q, adrg/xdg %q", tt.state, got, xdg.StateHome)
		}
	}
}
