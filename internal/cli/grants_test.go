package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// TestGrants runs the binary through what a user meets when a grant goes
// wrong: logout of a pasted seed, login's browser, the device grant's
// interval, a grant that cannot log in, profiles and serve.
func TestGrants(t *testing.T) {
	runWithBinary(t, []binTest{
		{"LogoutKeepsSpentSeed", testLogoutKeepsSpentSeed},
		{"LoginGrantWithoutLogin", testLoginGrantWithoutLogin},
		{"BrowserGetsNoSecret", testBrowserGetsNoSecret},
		{"DeviceIntervalTooShort", testDeviceIntervalTooShort},
		{"ServeSocketNotOwn", testServeSocketNotOwn},
		{"ServeNeedsPerson", testServeNeedsPerson},
	})
}

// tokenLog is a hand-written token endpoint that answers every request with a
// new access and refresh token and remembers the refresh tokens it was sent.
type tokenLog struct {
	mu   sync.Mutex
	sent []string // the refresh_token of each request, "" for none
}

func (l *tokenLog) handler(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	l.mu.Lock()
	l.sent = append(l.sent, r.PostForm.Get("refresh_token"))
	n := len(l.sent)
	l.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": fmt.Sprintf("grants-access-token-%04d", n), "token_type": "Bearer",
		"expires_in": 3600, "refresh_token": fmt.Sprintf("grants-refresh-token-%04d", n)})
}

func (l *tokenLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.sent...)
}

// handle makes path answer with h.
func (hp *hostileProvider) handle(path string, h http.HandlerFunc) {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	hp.answers[path] = h
}

// testLogoutKeepsSpentSeed: grantType refresh_token with a pasted seed and a
// revocation endpoint. Logout revoked the grant and set the record aside as
// "corrupt"; then status said the next run gets a new grant (exit 0) and the
// next refresh sent the spent seed again. After logout the seed stays known
// as spent: status and refresh exit 77 without a request, the record set
// aside is not called corrupt, and the hints ask for a new seed, not a login.
func testLogoutKeepsSpentSeed(t *testing.T, bin string) {
	const seed = "grants-seed-refresh-token-0001"
	hp := newHostileProvider(t)
	var tl tokenLog
	hp.handle("/token", tl.handler)
	revoked := make(chan string, 4)
	hp.handle("/revoke", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		revoked <- r.PostForm.Get("token")
		w.WriteHeader(http.StatusOK)
	})
	p := &profile{tb: t, bin: bin, dir: t.TempDir()}
	creds := map[string]string{"tokenURL": hp.srv.URL + "/token", "revocationURL": hp.srv.URL + "/revoke",
		"grantType": "refresh_token", "appID": "grants-app", "refreshToken": seed}
	data, _ := json.Marshal(creds)
	if err := os.WriteFile(p.path("credentials.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	p.mustRun("refresh")
	if got := tl.requests(); len(got) != 1 || got[0] != seed {
		t.Fatalf("refresh sent %d requests (seed first: %t), want the seed once", len(got), len(got) > 0 && got[0] == seed)
	}
	o := p.mustRun("logout")
	if got := <-revoked; got != "grants-refresh-token-0001" {
		t.Errorf("revoked %q, want the live refresh token", got)
	}
	if strings.Contains(o.stderr, "corrupt") || !strings.Contains(o.stderr, ".logged-out-") ||
		!strings.Contains(o.stderr, "refreshToken") || strings.Contains(o.stderr, " login") {
		t.Errorf("logout: %s\nwant the record set aside as logged-out and a hint to put a new refreshToken in credentials.json", o)
	}
	aside, _ := filepath.Glob(p.tokenFile() + ".logged-out-*")
	corrupt, _ := filepath.Glob(p.tokenFile() + ".corrupt-*")
	if len(aside) != 1 || len(corrupt) != 0 {
		t.Errorf("set aside: %q, corrupt: %q; want one logged-out record and nothing called corrupt", aside, corrupt)
	}
	// What is set aside holds no token: the access token may stay valid at
	// the provider after the refresh token was revoked.
	for _, f := range aside {
		data, _ := os.ReadFile(f)
		if strings.Contains(string(data), "grants-refresh-token-0001") || strings.Contains(string(data), `"access_token"`) ||
			!strings.Contains(string(data), `"token_url"`) {
			t.Errorf("the logged-out record keeps a token, or lost its endpoint:\n%s", ftMask(string(data)))
		}
	}
	for _, args := range [][]string{{"status"}, {"refresh"}, {"token"}} {
		o := p.run(p.command(args...))
		if o.code != exitNeedsHuman || !strings.Contains(o.stdout+o.stderr, "refreshToken") || strings.Contains(o.stdout+o.stderr, " login") {
			t.Errorf("%s after logout: %s%s\nwant 77 asking for a new refreshToken in credentials.json", args[0], o.stdout, o)
		}
		if n := strings.Count(o.stdout+o.stderr, "already used"); n > 1 {
			t.Errorf("%s after logout says %d times that the seed was already used:\n%s%s", args[0], n, o.stdout, o)
		}
	}
	// login refuses this grant (no person starts it); its next step is the
	// new seed, not a refresh that would stop at 77 too.
	if o := p.run(p.command("login")); o.code != exitConfig || !strings.Contains(o.stderr, "refreshToken") ||
		strings.Contains(o.stderr, "to get a token with this grant, run") {
		t.Errorf("login after logout: %s\nwant 78 whose next step asks for a new refreshToken, not a refresh", o)
	}
	if got := tl.requests(); len(got) != 1 {
		t.Errorf("the token endpoint saw %d requests after logout (the spent seed sent again: %t), want none", len(got)-1, strings.Contains(strings.Join(got[1:], " "), seed))
	}
	// A second logout has nothing to revoke and keeps the seed known.
	if o := p.mustRun("logout"); !strings.Contains(o.stderr, "nothing to revoke") {
		t.Errorf("a second logout: %s", o)
	}
	if o := p.run(p.command("status")); o.code != exitNeedsHuman {
		t.Errorf("status after a second logout: %s, want 77", o)
	}

	// A new seed; then a token record damaged by hand: logout cannot revoke
	// what it cannot read, but the seed it shows was spent stays known.
	const seed2 = "grants-seed-refresh-token-0002"
	p.setCredential("refreshToken", seed2)
	p.mustRun("refresh")
	f, err := os.OpenFile(p.tokenFile(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("garbage\n")
	f.Close()
	p.mustRun("logout")
	if o := p.run(p.command("status")); o.code != exitNeedsHuman || !strings.Contains(o.stdout, "refreshToken") {
		t.Errorf("status after logging out a damaged record: %s%s, want 77 asking for a new refreshToken", o.stdout, o)
	}
	p.run(p.command("refresh"))
	if got := tl.requests(); len(got) != 2 || got[1] != seed2 {
		t.Errorf("the token endpoint saw %d requests, want 2 (each seed once)", len(got))
	}
}

// browserScript is a $BROWSER that writes its environment, then its
// arguments, to out.
func browserScript(t *testing.T, out string) string {
	path := filepath.Join(t.TempDir(), "browser")
	script := "#!/bin/sh\nenv > " + out + ".tmp\necho \"ARGS=$*\" >> " + out + ".tmp\nmv " + out + ".tmp " + out + "\n"
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return path
}

// testLoginGrantWithoutLogin: login on a profile whose grant no person starts
// (client credentials) said "no browser on this host … use --device" (exit
// 2); the real cause showed only with --no-browser. It exits 78 naming
// grantType and the grants that log in, with or without a browser, and starts
// none and sends nothing.
func testLoginGrantWithoutLogin(t *testing.T, bin string) {
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{})
	p.setCredential("grantType", "client_credentials")
	p.setCredential("authURL", p.srv.URL()+"/authorize")
	opened := filepath.Join(t.TempDir(), "opened")
	for _, args := range [][]string{{"login"}, {"login", "--device"}, {"login", "--no-browser"}} {
		for _, browser := range []bool{false, true} {
			cmd := p.command(append(args, "--wait", "3s")...) // bounded, should it wait for a person
			if browser {
				cmd.Env = append(cmd.Env, "BROWSER="+browserScript(t, opened))
			}
			o := p.run(cmd)
			if o.code != exitConfig || !strings.Contains(o.stderr, "grantType client_credentials") ||
				!strings.Contains(o.stderr, "authorization_code") || !strings.Contains(o.stderr, "device_code") ||
				strings.Contains(o.stderr, "no browser") {
				t.Errorf("%s (BROWSER set: %t): %s, want 78 naming grantType and the grants that log in", strings.Join(args, " "), browser, o)
			}
		}
	}
	if _, err := os.Stat(opened); err == nil {
		t.Error("a browser was started")
	}
	if n := p.srv.Count(""); n != 0 {
		t.Errorf("the provider saw %d requests, want none", n)
	}
}

// testBrowserGetsNoSecret: login started $BROWSER with tokenkeeper's whole
// environment, so a client secret, a seed refresh token, the store's password
// and an outer exec's access token (as setup and exec take them) reached a
// long-lived browser. The browser gets what exec's command gets, without the
// secrets.
func testBrowserGetsNoSecret(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	secrets := map[string]string{
		"TOKENKEEPER_CLIENT_SECRET":         "grants-env-client-secret-0001",
		"TOKENKEEPER_COMPANY_REQUEST_TOKEN": "grants-env-request-token-0001",
		"TOKENKEEPER_REFRESH_TOKEN":         "grants-env-refresh-token-0001",
		"TOKENKEEPER_STORE_PASSWORD":        "grants-env-store-password-0001",
		"TOKENKEEPER_ACCESS_TOKEN":          "grants-env-access-token-0001",
	}
	envFile := filepath.Join(t.TempDir(), "browser-env")
	cmd := lp.command("allow", "login")
	cmd.Env = append(cmd.Env, browserEnvFileEnv+"="+envFile, "GRANTS_PLAIN=kept")
	for k, v := range secrets {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	o := runAll(t, []*exec.Cmd{cmd})[0]
	got, err := os.ReadFile(envFile)
	if err != nil {
		t.Fatalf("the browser did not run (%v): %s", err, o)
	}
	if o.code != 0 {
		t.Errorf("login: %s, want 0", o)
	}
	for k, v := range secrets {
		if strings.Contains(string(got), k+"=") || strings.Contains(string(got), v) {
			t.Errorf("the browser got %s", k)
		}
	}
	if !strings.Contains(string(got), "\nGRANTS_PLAIN=kept\n") {
		t.Errorf("the browser lost a plain variable:\n%s", got)
	}
}

// testDeviceIntervalTooShort: a device authorization answer with "interval":
// 0.001 made login poll the token endpoint 62 times in 3 s. An interval under
// a second, or not whole seconds, is RFC 8628's 5 s: within a 3 s login, no
// poll at all.
func testDeviceIntervalTooShort(t *testing.T, bin string) {
	for _, interval := range []any{0.001, 1.5} {
		hp := newHostileProvider(t)
		p := deviceProfile(t, bin, hp)
		hp.answer("/device", 200, map[string]any{"device_code": "grants-device-code-0001", "user_code": "ABCD-EFGH",
			"verification_uri": "https://provider.example/device", "interval": interval, "expires_in": 600})
		var mu sync.Mutex
		polls := 0
		hp.handle("/token", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			polls++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"authorization_pending"}`))
		})
		o := runBounded(t, p, "login", "--wait", "3s")
		mu.Lock()
		n := polls
		mu.Unlock()
		if o.code != exitTemp || n != 0 {
			t.Errorf("interval %v: %d polls in a 3s login (%s), want none before 5s and exit 75", interval, n, o)
		}
	}
}

// unixGet is GET /token on the unix socket sock: the status and the body.
func unixGet(t *testing.T, sock string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := client.Get("http://x/token")
	if err != nil {
		t.Fatalf("GET /token on %s: %v", sock, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// testServeSocketNotOwn: serve --socket removed the socket path at exit even
// when it was no longer its own: once the file was deleted and another serve
// bound the path, the first one's exit cut the second off. Only the socket
// serve bound (same device and inode) is removed.
func testServeSocketNotOwn(t *testing.T, bin string) {
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{})
	sock := p.path("tk.sock")
	_, stopFirst := startServe(t, p, "serve", "--socket", sock)
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	_, stopSecond := startServe(t, p, "serve", "--socket", sock)
	if o := stopFirst(); o.code != 0 {
		t.Errorf("the first serve: %s", o)
	}
	if _, err := os.Lstat(sock); err != nil {
		t.Fatalf("the first serve removed the second's socket at exit (%v)", err)
	}
	if status, body := unixGet(t, sock); status != http.StatusOK {
		t.Errorf("the second serve after the first stopped: %d %s", status, body)
	}
	if o := stopSecond(); o.code != 0 {
		t.Errorf("the second serve: %s", o)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the second serve left its own socket behind (%v)", err)
	}
}

// testServeNeedsPerson: serve answered a grant that needs a person (a device
// grant never logged in) with a 500, as if serve had failed. It is a 403 with
// the kind reauth, the hint naming login, as exit 77 says elsewhere.
func testServeNeedsPerson(t *testing.T, bin string) {
	hp := newHostileProvider(t)
	p := deviceProfile(t, bin, hp)
	sock := p.path("tk.sock")
	_, stop := startServe(t, p, "serve", "--socket", sock)
	status, body := unixGet(t, sock)
	var e serveError
	if err := json.Unmarshal([]byte(body), &e); err != nil || status != http.StatusForbidden || e.Kind != "reauth" || !strings.Contains(e.Hint, "login") {
		t.Errorf("GET /token with no login yet: %d %s, want 403, kind reauth and a hint to log in", status, body)
	}
	if o := stop(); o.code != 0 {
		t.Errorf("serve: %s", o)
	}
}
