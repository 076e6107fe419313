package cli

// Faults that the scripts in testdata/script cannot stage (a second server, a
// closed port, file modes), through the real binary (tokenkeeperBinary).

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

const (
	ftClientID     = "cli-fault-app"
	ftClientSecret = "cli-fault-client-secret-Q7x9"
	ftCompanyUUID  = "cli-fault-company"
	ftRequestToken = "cli-fault-request-token-W3k2"
)

// ftRun runs the binary with a clean environment (no TOKENKEEPER_* from the
// caller) plus env, and returns its output and exit code.
func ftRun(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return ftRunIn(t, "", env, args...)
}

// ftRunIn is ftRun with stdin.
func ftRunIn(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(tokenkeeperBinary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	o := runToEnd(t, cmd)
	return o.stdout, o.stderr, o.code
}

func ftFake(t *testing.T) *fakeserver.Server {
	t.Helper()
	s := fakeserver.New(fakeserver.Options{ClientID: ftClientID, ClientSecret: ftClientSecret,
		CompanyUUID: ftCompanyUUID, RequestToken: ftRequestToken})
	t.Cleanup(s.Close)
	return s
}

// ftCreds writes a credentials.json for tokenURL in dir, with overrides.
func ftCreds(t *testing.T, dir, tokenURL string, over map[string]string) {
	t.Helper()
	c := map[string]string{
		"tokenURL": tokenURL, "grantType": "password", "appID": ftClientID, "clientSecret": ftClientSecret,
		"companyUUID": ftCompanyUUID, "companyRequestToken": ftRequestToken, "credentialType": "authtoken",
	}
	for k, v := range over {
		if v == "" {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	data, _ := json.Marshal(c)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ftRefreshed is a profile on fs whose first refresh went through: a
// stored token for the test to keep, age or see refused.
func ftRefreshed(t *testing.T, fs *fakeserver.Server) string {
	t.Helper()
	dir := t.TempDir()
	ftCreds(t, dir, fs.TokenURL(), nil)
	_, stderr, code := ftRun(t, nil, "--dir", dir, "refresh")
	ftWant(t, "first refresh", code, exitOK, stderr)
	return dir
}

func ftWant(t *testing.T, what string, code, want int, stderr string) {
	t.Helper()
	if code != want {
		t.Fatalf("%s exited %d, want %d; stderr:\n%s", what, code, want, ftMask(stderr))
	}
}

// ftMask hides the test's secrets in output shown on failure.
func ftMask(s string) string {
	for _, v := range []string{ftClientSecret, ftRequestToken} {
		s = strings.ReplaceAll(s, v, "[secret]")
	}
	return s
}

// ftElsewhere is a server no request of the run may reach: it counts the
// requests it gets and answers each with a token, as a thief would.
func ftElsewhere(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var got atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		io.WriteString(w, `{"access_token":"stolen","expires_in":3600}`)
	}))
	t.Cleanup(s.Close)
	return s, &got
}

// ftTLSAndPlain serves h over TLS and over plain HTTP, counting in conns the
// connections either accepts.
func ftTLSAndPlain(t *testing.T, h http.Handler, conns *atomic.Int64) (tlsSrv, plain *httptest.Server) {
	t.Helper()
	count := func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	tlsSrv = httptest.NewUnstartedServer(h)
	tlsSrv.Config.ConnState = count
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain = httptest.NewUnstartedServer(h)
	plain.Config.ConnState = count
	plain.Start()
	t.Cleanup(plain.Close)
	return tlsSrv, plain
}

// TestFaultCLIRedirectOtherHost: a token endpoint redirecting to another
// host:port gets nothing replayed there; the run ends in 78 naming tokenURL.
func TestFaultCLIRedirectOtherHost(t *testing.T) {
	t.Parallel()
	second, other := ftElsewhere(t)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, second.URL+"/oauth2/v0/token", http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	dir := t.TempDir()
	ftCreds(t, dir, first.URL+"/oauth2/v0/token", nil)
	_, stderr, code := ftRun(t, nil, "--dir", dir, "refresh")
	ftWant(t, "refresh", code, exitConfig, stderr)
	if n := other.Load(); n != 0 {
		t.Errorf("the other host got %d requests, want 0", n)
	}
	for _, want := range []string{"redirect refused to another host", "hint: check tokenURL in " + filepath.Join(dir, "credentials.json")} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, ftMask(stderr))
		}
	}
	if data, err := os.ReadFile(filepath.Join(dir, "refreshTokenObjectFile.json")); err != nil || strings.Contains(string(data), "access_token") {
		t.Errorf("the token record %q (%v): want it to remember the refusal, and no token", data, err)
	}
	// Remembered: the next run and status say the same, without a request,
	// and when it was refused.
	_, again, code := ftRun(t, nil, "--dir", dir, "refresh")
	ftWant(t, "refresh again", code, exitConfig, again)
	firstLine, _, _ := strings.Cut(stderr, "\n")
	if !strings.HasPrefix(again, firstLine+" (refused at ") || !strings.Contains(again, "refresh --retry") {
		t.Errorf("second run:\n%s\nwant the same as the first, with when and the retry:\n%s", ftMask(again), ftMask(stderr))
	}
	_, _, code = ftRun(t, nil, "--dir", dir, "status")
	ftWant(t, "status", code, exitConfig, "")
}

// TestFaultCLIConnectionRefused: nothing listens at the token URL. Retries run
// within --timeout; then 0 with a warning while the stored token is valid, 75
// when there is none.
func TestFaultCLIConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String() + "/oauth2/v0/token"
	l.Close()

	t.Run("no token", func(t *testing.T) {
		dir := t.TempDir()
		ftCreds(t, dir, dead, nil)
		stdout, stderr, code := ftRun(t, nil, "--dir", dir, "--timeout", "2s", "-v", "token")
		ftWant(t, "token", code, exitTemp, stderr)
		if stdout != "" {
			t.Errorf("stdout %q, want nothing", stdout)
		}
		for _, want := range []string{"connection refused", "attempt=1", "hint: the token endpoint is unreachable or failing; run again later"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, ftMask(stderr))
			}
		}
	})
	t.Run("valid token", func(t *testing.T) {
		fs := ftFake(t)
		dir := ftRefreshed(t, fs)
		before, _ := os.ReadFile(filepath.Join(dir, "refreshTokenObjectFile.json"))
		fs.Close() // the endpoint goes away; the port is closed
		_, stderr, code := ftRun(t, nil, "--dir", dir, "--timeout", "2s", "refresh", "--force")
		ftWant(t, "refresh during the outage", code, exitOK, stderr)
		if !strings.Contains(stderr, "warning: could not renew") || !strings.Contains(stderr, "kept:") {
			t.Errorf("stderr lacks the warning and the kept token:\n%s", ftMask(stderr))
		}
		after, _ := os.ReadFile(filepath.Join(dir, "refreshTokenObjectFile.json"))
		if !bytes.Equal(before, after) {
			t.Error("the token file changed")
		}
	})
}

// Concur's code 16 through the binary: the binary follows a geolocation only
// to Concur's own hosts, which a test cannot reach; leaks_test.go's
// TestGeolocationOfOtherProviderIgnored proves that a loopback endpoint's is
// not followed, and refresh's TestFaultConcurCode16 the routing itself.

// TestFaultCLIFileModes: what tokenkeeper creates is 0600 in 0700 directories,
// in both layouts (--dir, and the XDG directories a cron job gets).
func TestFaultCLIFileModes(t *testing.T) {
	t.Parallel()
	fs := ftFake(t)
	root := t.TempDir()
	layouts := map[string]struct {
		env        []string
		args       []string
		cfg, state string // the profile's directories
		made       []string
	}{
		"dir": {nil, []string{"--dir", filepath.Join(root, "d", "app")},
			filepath.Join(root, "d", "app"), filepath.Join(root, "d", "app"), []string{filepath.Join(root, "d", "app")}},
		"xdg": {[]string{"XDG_CONFIG_HOME=" + filepath.Join(root, "x", "config"), "XDG_STATE_HOME=" + filepath.Join(root, "x", "state")}, nil,
			filepath.Join(root, "x", "config", "tokenkeeper", "default"), filepath.Join(root, "x", "state", "tokenkeeper", "default"),
			[]string{filepath.Join(root, "x", "config", "tokenkeeper"), filepath.Join(root, "x", "state", "tokenkeeper")}},
	}
	for name, l := range layouts {
		t.Run(name, func(t *testing.T) {
			_, stderr, code := ftRun(t, l.env, append(l.args, "refresh")...)
			ftWant(t, "first run (template)", code, exitConfig, stderr)
			ftCreds(t, l.cfg, fs.TokenURL(), nil)
			_, stderr, code = ftRun(t, l.env, append(l.args, "refresh")...)
			ftWant(t, "refresh", code, exitOK, stderr)
			dirs := append([]string{l.cfg, l.state}, l.made...)
			for _, d := range dirs {
				ftMode(t, d, 0o700)
			}
			for _, f := range []string{filepath.Join(l.state, "refreshTokenObjectFile.json"), filepath.Join(l.state, "refreshTokenObjectFile.json.lock")} {
				ftMode(t, f, 0o600)
			}
			leftovers, _ := filepath.Glob(filepath.Join(l.state, ".*"))
			if len(leftovers) != 0 {
				t.Errorf("temporary files left: %v", leftovers)
			}
		})
	}
	t.Run("template", func(t *testing.T) {
		dir := filepath.Join(root, "t", "new")
		_, stderr, code := ftRun(t, nil, "--dir", dir, "init")
		ftWant(t, "init", code, exitOK, stderr)
		ftMode(t, dir, 0o700)
		ftMode(t, filepath.Join(dir, "credentials.json"), 0o600)
	})
}

func ftMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

// TestFaultCLITLS: a certificate that does not verify, or https sent to a
// port that speaks plain HTTP, is no outage: no retry fixes it. One attempt,
// exit 78, the host and what failed named, and a hint that fits (SSL_CERT_FILE
// for an authority this host does not trust; the URL's scheme and port). The
// hint works: the same endpoint with SSL_CERT_FILE naming its certificate
// gets a token.
func TestFaultCLITLS(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	answer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"tls-ok","token_type":"Bearer","expires_in":3600}`)
	})
	tlsSrv, plain := ftTLSAndPlain(t, answer, &conns)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsPort := strings.TrimPrefix(tlsSrv.URL, "https://127.0.0.1")
	for _, tt := range []struct {
		name, url string
		env       []string
		want      []string
	}{
		{"unknown authority", tlsSrv.URL + "/token", nil,
			[]string{"TLS failed: its certificate is signed by an authority this host does not trust", "hint: if 127.0.0.1" + tlsPort + " uses a private or self-signed certificate authority, set SSL_CERT_FILE"}},
		{"wrong host", "https://localhost" + tlsPort + "/token", []string{"SSL_CERT_FILE=" + ca},
			[]string{"https://localhost" + tlsPort + "/token: TLS failed: its certificate is not for this host name", "not localhost"}},
		{"plain http port", strings.Replace(plain.URL, "http://", "https://", 1) + "/token", nil,
			[]string{"TLS failed: it answered in plain HTTP, not TLS", "hint: the URL says https:// but this port speaks plain HTTP: check the URL's scheme and port"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conns.Store(0)
			dir := t.TempDir()
			ftCreds(t, dir, "", map[string]string{"tokenURL": tt.url, "grantType": "client_credentials",
				"companyUUID": "", "companyRequestToken": "", "credentialType": ""})
			_, stderr, code := ftRun(t, tt.env, "--dir", dir, "--timeout", "10s", "refresh")
			ftWant(t, "refresh", code, exitConfig, stderr)
			for _, want := range append(tt.want, "a retry does not fix this; then run tokenkeeper --dir "+dir+" refresh") {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, ftMask(stderr))
				}
			}
			if strings.Contains(stderr, "run again later") {
				t.Errorf("stderr reads as an outage:\n%s", ftMask(stderr))
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("%d connections, want 1: no retry fixes this", n)
			}
		})
	}
	t.Run("SSL_CERT_FILE", func(t *testing.T) {
		dir := t.TempDir()
		ftCreds(t, dir, "", map[string]string{"tokenURL": tlsSrv.URL + "/token", "grantType": "client_credentials",
			"companyUUID": "", "companyRequestToken": "", "credentialType": ""})
		stdout, stderr, code := ftRun(t, []string{"SSL_CERT_FILE=" + ca}, "--dir", dir, "token")
		ftWant(t, "token with SSL_CERT_FILE", code, exitOK, stderr)
		if stdout != "tls-ok\n" {
			t.Errorf("stdout %q, want the token", stdout)
		}
	})
}

// TestFaultCLIStoreTLS: the same for the shared store: members whose
// certificate does not verify, or that speak plain HTTP to etcds://, end the
// run at once in 78 with what to change in the store URL, where every
// operation retried until --timeout and ended in 75 "did not answer".
func TestFaultCLIStoreTLS(t *testing.T) {
	t.Parallel()
	var conns atomic.Int64
	member := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"header":{"revision":"1"}}`) })
	tlsSrv, plain := ftTLSAndPlain(t, member, &conns)
	for _, tt := range []struct{ name, store, want string }{
		{"unknown authority", "etcds://" + strings.TrimPrefix(tlsSrv.URL, "https://"),
			"hint: name the certificate authority of the etcd members in the store URL: etcds://…?ca=FILE"},
		{"plain http", "etcds://" + strings.TrimPrefix(plain.URL, "http://"),
			"hint: the store URL says etcds:// but the members do not speak TLS on these ports"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ftCreds(t, dir, "", map[string]string{"tokenURL": "https://127.0.0.1:1/token", "grantType": "client_credentials",
				"companyUUID": "", "companyRequestToken": "", "credentialType": ""})
			for _, args := range [][]string{{"token"}, {"refresh"}, {"status"}} {
				conns.Store(0)
				stdout, stderr, code := ftRun(t, nil, append([]string{"--dir", dir, "--store", tt.store, "--timeout", "5s"}, args...)...)
				ftWant(t, strings.Join(args, " "), code, exitConfig, stdout+stderr)
				for _, want := range []string{"TLS failed", strings.TrimPrefix(tt.want, "hint: ")} {
					if !strings.Contains(stdout+stderr, want) {
						t.Errorf("%s: output lacks %q:\n%s%s", args[0], want, stdout, ftMask(stderr))
					}
				}
				if args[0] == "status" && !strings.Contains(stdout, "the store cannot be used as configured") {
					t.Errorf("status does not say that the store cannot be used as configured:\n%s", stdout)
				}
				if strings.Contains(stdout+stderr, "run again later") {
					t.Errorf("%s reads as an outage:\n%s%s", args[0], stdout, ftMask(stderr))
				}
				if n := conns.Load(); n > 3 {
					t.Errorf("%s: %d connections: retried", args[0], n)
				}
			}
		})
	}
}
