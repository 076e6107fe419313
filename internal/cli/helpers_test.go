package cli

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Helpers of the binary-driven tests on every platform.

// hangBound bounds every wait in these tests against a hang; it is not a
// time the tests expect anything to take.
const hangBound = 60 * time.Second

// aged is a token record as if its access token had been obtained ago and
// expired in left (negative: it has run out): the tests age a record rather
// than wait.
func aged(tb testing.TB, data []byte, ago, left time.Duration) []byte {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	m["obtained_at"] = now.Add(-ago).Format(time.RFC3339)
	m["expires_at"] = now.Add(left).Format(time.RFC3339)
	out, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// expired is the record as if its access token had run out an hour ago.
func expired(tb testing.TB, data []byte) []byte {
	tb.Helper()
	return aged(tb, data, 2*time.Hour, -time.Hour)
}

// ageFile rewrites a token file as obtained ago and expiring in left.
func ageFile(tb testing.TB, path string, ago, left time.Duration) {
	tb.Helper()
	if err := storage.WriteFile(path, aged(tb, mustRead(tb, path), ago, left)); err != nil {
		tb.Fatal(err)
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

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

// startStderr starts cmd with its stderr on the returned pipe.
func startStderr(t testing.TB, cmd *exec.Cmd) io.Reader {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stderr
}

// binaryTest runs t in parallel with the other tests and returns the built
// binary, skipping t under -short: building the binary is what -short saves.
func binaryTest(t *testing.T) string {
	t.Helper()
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	return buildTokenkeeper(t)
}
