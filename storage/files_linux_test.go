package storage

import (
	"strings"
	"testing"
)

// TestRootsAreResolved: the roots documented by Roots are those configHome
// and stateHome resolve to, with their variable set and unset.
func TestRootsAreResolved(t *testing.T) {
	t.Setenv("HOME", "/home/someone")
	for i, resolve := range []func() (string, string){configHome, stateHome} {
		r := Roots()[i]
		t.Setenv(r.Env, "")
		if dir, _ := resolve(); dir != strings.Replace(r.Default, "$HOME", "/home/someone", 1) {
			t.Errorf("%s unset: the root is %s, documented as %s", r.Env, dir, r.Default)
		}
		t.Setenv(r.Env, "/elsewhere")
		if dir, why := resolve(); dir != "/elsewhere" || why != "$"+r.Env {
			t.Errorf("%s=/elsewhere: the root is %s (%s), documented as that variable", r.Env, dir, why)
		}
	}
}
