package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// Helpers of the binary-driven tests on every platform.

// hangBound bounds every wait in these tests against a hang; it is not a
// time the tests expect anything to take.
const hangBound = 60 * time.Second

// cleanEnv is the test's environment without TOKENKEEPER_* variables, which
// would change what the wizard starts from.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENKEEPER_") {
			env = append(env, kv)
		}
	}
	return append(env, "GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"))
}

func newFake(t *testing.T, o fakeserver.Options) *fakeserver.Server {
	o.ClientID, o.ClientSecret = fakeClientID, fakeClientSecret
	o.CompanyUUID, o.RequestToken = fakeCompanyUUID, fakeRequestToken
	srv := fakeserver.New(o)
	t.Cleanup(srv.Close)
	return srv
}

func readCredsFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %o, want 600", path, fi.Mode().Perm())
	}
	return m
}

func assertNoSecrets(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the terminal showed a secret (%d characters); output:\n%s", len(s), strings.ReplaceAll(out, s, "[SECRET]"))
		}
	}
}
