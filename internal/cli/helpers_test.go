package cli

import (
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
