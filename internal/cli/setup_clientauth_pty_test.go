//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/testkeys"
)

// TestSetupWizardClientKey: with clientAuth a key's, the wizard asks for the
// key files where it would ask for the client secret, and nothing about a
// secret or authStyle; the first exchange authenticates with the key.
func TestSetupWizardClientKey(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeserver.Options{Style: fakeserver.StyleKeycloak, ClientKey: testkeys.Key("p384").Public()})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "client.key"), testkeys.PEM(testkeys.Key("p384")), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startPTY(t, []string{"TOKENKEEPER_DIR=" + dir}, "setup", "--client-auth", "private_key_jwt")
	s.answer("choose [concur]: ", "generic")
	s.answer("token URL: ", srv.TokenURL())
	s.answer("choose: ", "client_credentials")
	s.answer("client ID (appID): ", fakeClientID)
	s.answer("client private key file (PEM; a relative path is from credentials.json's directory): ", "client.key")
	s.answer("key ID (kid), optional: ", "")
	s.answer("client certificate file (PEM), optional: ", "")
	s.answer("scope, optional (space-separated): ", "")
	if code := s.wait(); code != 0 {
		t.Fatalf("setup exited %d; output:\n%s", code, s.output())
	}
	out := s.output()
	if strings.Contains(out, "client secret (not shown") || strings.Contains(out, "(authStyle)") || !strings.Contains(out, "got a new grant") {
		t.Errorf("output:\n%s", out)
	}
	c := readCredsFile(t, filepath.Join(dir, "credentials.json"))
	if c["clientAuth"] != "private_key_jwt" || c["clientKey"] != "client.key" || c["clientSecret"] != "" {
		t.Errorf("credentials.json: clientAuth %q, clientKey %q, clientSecret set %v", c["clientAuth"], c["clientKey"], c["clientSecret"] != "")
	}
	if n := srv.Count("client_credentials"); n != 1 {
		t.Errorf("token endpoint saw %d client_credentials grants, want 1", n)
	}
}
