package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// sweepEnv is one profile directory with its fake endpoint, for one fault.
type sweepEnv struct {
	t   *testing.T
	dir string
	fs  *fakeserver.Server
	// secrets known so far: those of credentials.json, and every token seen in
	// the token file before or after a run.
	secrets map[string]bool
}

// ftBasic is the HTTP Basic value of the test's client, as authStyle header
// sends it: an endpoint may echo it too.
var ftBasic = base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(ftClientID) + ":" + url.QueryEscape(ftClientSecret)))

func newSweepEnv(t *testing.T) *sweepEnv {
	e := &sweepEnv{t: t, dir: t.TempDir(), fs: ftFake(t), secrets: map[string]bool{ftClientSecret: true, ftRequestToken: true, ftBasic: true}}
	ftCreds(t, e.dir, e.fs.TokenURL(), nil)
	return e
}

func (e *sweepEnv) tokenFile() string { return filepath.Join(e.dir, "refreshTokenObjectFile.json") }

// bootstrap gets a first token, so that the fault hits a refresh.
func (e *sweepEnv) bootstrap() {
	_, stderr, code := ftRun(e.t, nil, "--dir", e.dir, "refresh")
	ftWant(e.t, "bootstrap", code, exitOK, stderr)
	e.collect()
}

// collect adds the tokens in the token file (and any file set aside) to the
// secrets.
func (e *sweepEnv) collect() {
	files, _ := filepath.Glob(e.tokenFile() + "*")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			continue
		}
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if s, ok := m[k].(string); ok && len(s) >= 4 {
				e.secrets[s] = true
			}
		}
	}
}

// expire makes the stored access token expired (the refresh token stays live).
func (e *sweepEnv) expire() {
	data, err := os.ReadFile(e.tokenFile())
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		e.t.Fatal(err)
	}
	m["expires_at"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	data, _ = json.Marshal(m)
	if err := os.WriteFile(e.tokenFile(), data, 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// stored returns the stored refresh token (for echoes).
func (e *sweepEnv) stored(key string) string {
	data, _ := os.ReadFile(e.tokenFile())
	var m map[string]any
	json.Unmarshal(data, &m)
	s, _ := m[key].(string)
	return s
}

// echo is an error body that repeats every secret the endpoint was sent, and
// the stored tokens, as a careless or hostile endpoint might.
func (e *sweepEnv) echo(errCode string, code int) string {
	desc := fmt.Sprintf("bad: secret=%s token=%s refresh=%s access=%s basic=%s", ftClientSecret, ftRequestToken, e.stored("refresh_token"), e.stored("access_token"), ftBasic)
	b, _ := json.Marshal(map[string]any{"error": errCode, "error_description": desc, "message": desc, "code": code, "error_uri": "https://x.example/" + ftClientSecret})
	return string(b)
}

// sweepCase is one fault path: set up, then run args; code is the exit code the
// path must end in.
type sweepCase struct {
	name  string
	setup func(e *sweepEnv)
	args  []string
	code  int
	// echoed: the endpoint repeats secrets in what it says, and the output must
	// show that it was redacted (not silently dropped: then this test proves
	// nothing).
	echoed bool
}

func sweepCases() []sweepCase {
	fail := func(f ...fakeserver.Fault) func(e *sweepEnv) {
		return func(e *sweepEnv) {
			e.bootstrap()
			for _, x := range f {
				e.fs.Fail(x)
			}
		}
	}
	expiredFail := func(f ...fakeserver.Fault) func(e *sweepEnv) {
		return func(e *sweepEnv) {
			fail(f...)(e)
			e.expire()
		}
	}
	outage := fakeserver.Fault{Status: 503, Header: http.Header{"Retry-After": {"60"}}}
	force := []string{"--timeout", "10s", "refresh", "--force"}
	cases := []sweepCase{
		{"first run", func(e *sweepEnv) { os.Remove(filepath.Join(e.dir, "credentials.json")) }, []string{"refresh"}, exitConfig, false},
		{"bootstrap", func(e *sweepEnv) {}, []string{"refresh"}, exitOK, false},
		{"bare run", func(e *sweepEnv) { e.bootstrap() }, nil, exitOK, false},
		{"token fast path", func(e *sweepEnv) { e.bootstrap() }, []string{"token"}, exitOK, false},
		{"token --header", func(e *sweepEnv) { e.bootstrap() }, []string{"token", "--header"}, exitOK, false},
		{"token renews", func(e *sweepEnv) { e.bootstrap(); e.expire() }, []string{"token"}, exitOK, false},
		{"status", func(e *sweepEnv) { e.bootstrap() }, []string{"status"}, exitOK, false},
		{"status --json", func(e *sweepEnv) { e.bootstrap() }, []string{"status", "--json"}, exitOK, false},
		{"two 503s", fail(fakeserver.Fault{Status: 503}, fakeserver.Fault{Status: 503}), force, exitOK, false},
		{"429 Retry-After", fail(fakeserver.Fault{Status: 429, Header: http.Header{"Retry-After": {"1"}}}), force, exitOK, false},
		{"outage, valid token", fail(outage), force, exitOK, false},
		{"outage, expired token", expiredFail(outage), []string{"--timeout", "2s", "refresh"}, exitTemp, false},
		{"hang", expiredFail(fakeserver.Fault{Hang: true}, fakeserver.Fault{Hang: true}, fakeserver.Fault{Hang: true}), []string{"--timeout", "2s", "token"}, exitTemp, false},
		{"reset", fail(fakeserver.Fault{Reset: true}), force, exitOK, false},
		{"html 200", fail(fakeserver.Fault{Status: 200, Body: fakeserver.ProxyErrorHTML}), force, exitOK, false},
		{"10 MB body", fail(fakeserver.Fault{HugeBody: 10 << 20}), force, exitOK, false},
		{"200 without access_token", fail(fakeserver.Fault{Status: 200, Body: `{"refresh_token":"` + ftClientSecret + `"}`}), force, exitOK, false},
		{"invalid_grant on refresh", func(e *sweepEnv) { e.bootstrap(); e.fs.RevokeRefreshTokens() }, force, exitOK, false},
		{"invalid_grant on bootstrap", func(e *sweepEnv) {
			e.bootstrap()
			e.fs.RevokeRefreshTokens()
			e.fs.SetRequestToken("another-request-token")
		}, force, exitNeedsHuman, false},
		{"invalid_client", func(e *sweepEnv) {
			ftCreds(e.t, e.dir, e.fs.TokenURL(), map[string]string{"clientSecret": "wrong-client-secret-Zz9"})
			e.secrets["wrong-client-secret-Zz9"] = true
		}, []string{"refresh"}, exitConfig, false},
		{"corrupt token file", func(e *sweepEnv) {
			e.bootstrap()
			data, _ := os.ReadFile(e.tokenFile())
			os.WriteFile(e.tokenFile(), data[:len(data)/2], 0o600)
		}, []string{"refresh"}, exitOK, false},
		{"credentials syntax error", func(e *sweepEnv) {
			os.WriteFile(filepath.Join(e.dir, "credentials.json"), []byte(`{"clientSecret":"`+ftClientSecret+`" "x"}`), 0o600)
		}, []string{"refresh"}, exitConfig, false},
		{"redirect to another host", func(e *sweepEnv) {
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
			e.t.Cleanup(other.Close)
			red := httptest.NewServer(http.RedirectHandler(other.URL+"/token?secret="+ftClientSecret, http.StatusTemporaryRedirect))
			e.t.Cleanup(red.Close)
			ftCreds(e.t, e.dir, red.URL+"/token", nil)
		}, []string{"refresh"}, exitConfig, false},
		{"http off loopback", func(e *sweepEnv) {
			ftCreds(e.t, e.dir, "http://tokens.example.com/token?client_secret="+ftClientSecret, nil)
		}, []string{"refresh"}, exitConfig, false},
	}
	// Refusals and failures whose bodies echo every secret.
	for _, c := range []struct {
		status int
		err    string
		code   int
		exit   int
	}{
		{400, "invalid_grant", 5, exitNeedsHuman}, {400, "invalid_grant", 14, exitNeedsHuman},
		{400, "invalid_request", 16, exitConfig}, {400, "invalid_grant", 19, exitNeedsHuman},
		{401, "unauthorized_client", 53, exitConfig}, {401, "invalid_client", 59, exitConfig},
		{400, "invalid_grant", 64, exitNeedsHuman}, {400, "invalid_request", 106, exitError},
		{400, "unauthorized_client", 107, exitConfig}, {400, "invalid_grant", 108, exitNeedsHuman},
		{400, "invalid_request", 120, exitConfig}, {503, "server_error", 0, exitOK},
		{200, "access_denied", 0, exitConfig},
	} {
		cases = append(cases, sweepCase{fmt.Sprintf("echo %d %s %d", c.status, c.err, c.code), func(e *sweepEnv) {
			e.bootstrap()
			body := e.echo(c.err, c.code)
			e.fs.Fail(fakeserver.Fault{Status: c.status, Body: body})
			e.fs.Fail(fakeserver.Fault{Status: c.status, Body: body}) // for the bootstrap after a refused refresh
			if c.status == 503 {
				e.fs.Fail(outage)
			}
		}, force, c.exit, c.status != 503})
	}
	// A refused refresh echoing the tokens, then a good bootstrap: the warning
	// quotes the refusal after the old tokens are gone from the file.
	cases = append(cases, sweepCase{"echo on refresh, then bootstrap", func(e *sweepEnv) {
		e.bootstrap()
		e.fs.Fail(fakeserver.Fault{Status: 400, Body: e.echo("invalid_grant", 108)})
	}, force, exitOK, true})
	return cases
}

// TestSecretsNeverShown runs every fault path of the binary with known secret
// values — in plain, -v and -v --log-format json — and checks that no secret is
// in stdout or stderr. The one exception is the access token on stdout of token,
// which exists to print it.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	logs := map[string][]string{"plain": nil, "verbose": {"-v"}, "json": {"-v", "--log-format", "json"}}
	for _, c := range sweepCases() {
		for mode, flags := range logs {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				e := newSweepEnv(t)
				c.setup(e)
				e.collect()
				args := append(append([]string{"--dir", e.dir}, flags...), c.args...)
				stdout, stderr, code := ftRun(t, nil, args...)
				e.collect()
				if code != c.code {
					t.Errorf("exited %d, want %d; stderr:\n%s", code, c.code, sweepMask(stderr, e.secrets))
				}
				printsToken := len(c.args) > 0 && c.args[0] == "token"
				for s := range e.secrets {
					if strings.Contains(stderr, s) {
						t.Errorf("stderr holds a secret (%.4s…, %d chars):\n%s", s, len(s), sweepMask(stderr, e.secrets))
					}
					if strings.Contains(stdout, s) && !(printsToken && s == e.stored("access_token")) {
						t.Errorf("stdout holds a secret (%.4s…, %d chars):\n%s", s, len(s), sweepMask(stdout, e.secrets))
					}
				}
				if c.echoed && !strings.Contains(stderr, "[redacted]") {
					t.Errorf("the endpoint's echo is not in stderr, redacted:\n%s", sweepMask(stderr, e.secrets))
				}
				if printsToken && code == exitOK && !strings.Contains(stdout, e.stored("access_token")) {
					t.Errorf("token did not print the stored access token")
				}
			})
		}
	}
}

func sweepMask(s string, secrets map[string]bool) string {
	for v := range secrets {
		s = strings.ReplaceAll(s, v, "[SECRET]")
	}
	return s
}
