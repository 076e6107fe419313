package cli

import (
	"slices"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// The store's password reaches tokenkeeper through the environment only, and
// exec's child never inherits it.
func TestChildEnvDropsStorePassword(t *testing.T) {
	env := childEnv([]string{storePasswordEnv + "=leak", "KEEP=1"}, &refresh.Token{AccessToken: "at"})
	if slices.Contains(env, storePasswordEnv+"=leak") || !slices.Contains(env, "KEEP=1") {
		t.Errorf("childEnv = %q, want %s dropped and KEEP kept", env, storePasswordEnv)
	}
}
