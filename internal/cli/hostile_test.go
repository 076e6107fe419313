package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// TestHostile runs the binary against what a hostile review of the second
// release tried on the new surface (serve, login, git-credential), as
// subtests sharing one build.
func TestHostile(t *testing.T) {
	runWithBinary(t, []binTest{
		{"ServeSecretFile", testServeSecretFile},
		{"LoginNoAccessToken", testLoginNoAccessToken},
		{"TerminalEscapes", testTerminalEscapes},
		{"UnknownExpiryCached", testUnknownExpiryCached},
		{"RefusalHarmlessEdit", testRefusalHarmlessEdit},
		{"GitCredentialOtherHost", testGitCredentialOtherHost},
		{"LogoutForgets", testLogoutForgets},
		{"ForeignLink", testForeignLink},
		{"ForeignCredentials", testForeignCredentials},
	})
}

// testForeignLink: a link planted by another user where the token file goes,
// in a profile directory others may write to, is refused before anything is
// read, moved or written: followed, it made the run move the file it names
// aside as a corrupt token file and write the token in its place (as root,
// any file: /etc/shadow). Also through a chain: the user's own link to a
// planted one. Planting as another user takes root (lchown).
func testForeignLink(t *testing.T, bin string) {
	if os.Geteuid() != 0 {
		t.Skip("planting a link of another user takes root")
	}
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{})
	os.Chmod(p.dir, 0o1777)
	victimDir := t.TempDir()
	victim := filepath.Join(victimDir, "shadow")
	if err := os.WriteFile(victim, []byte("root:x:0:0:the system's own file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shared := t.TempDir()
	os.Chmod(shared, 0o1777)
	planted := filepath.Join(shared, "token.json")
	for _, c := range []struct{ name, link, target string }{
		{"planted at the token file", p.tokenFile(), victim},
		{"the user's link to a planted one", planted, victim},
	} {
		os.Remove(p.tokenFile())
		if err := os.Symlink(c.target, c.link); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(c.link, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if c.link != p.tokenFile() {
			if err := os.Symlink(c.link, p.tokenFile()); err != nil {
				t.Fatal(err)
			}
		}
		for _, args := range [][]string{{"refresh"}, {"token"}} {
			o := p.run(p.command(args...))
			if o.code != exitConfig || !strings.Contains(o.stderr, c.link+": is a symbolic link of another user (uid 65534") {
				t.Errorf("%s: tokenkeeper %s: %s, want 78 refusing %s", c.name, args[0], o, c.link)
			}
		}
		if b, _ := os.ReadFile(victim); string(b) != "root:x:0:0:the system's own file\n" {
			t.Errorf("%s: the file the link names now holds %q", c.name, b)
		}
		if names, _ := filepath.Glob(victim + ".*"); len(names) > 0 {
			t.Errorf("%s: beside the file the link names: %q", c.name, names)
		}
	}

	// A directory of the link's owner (root working in alice's directory)
	// is no reason to follow alice's link either.
	os.Remove(p.tokenFile())
	os.Chmod(p.dir, 0o700)
	os.Chown(p.dir, 65534, 65534)
	os.Symlink(victim, p.tokenFile())
	os.Lchown(p.tokenFile(), 65534, 65534)
	if o := p.run(p.command("refresh")); o.code != exitConfig || !strings.Contains(o.stderr, "is a symbolic link of another user") {
		t.Errorf("a link of the directory's owner: %s, want 78 refusing it", o)
	}
	if b, _ := os.ReadFile(victim); string(b) != "root:x:0:0:the system's own file\n" {
		t.Errorf("a link of the directory's owner: the file it names now holds %q", b)
	}

	// setup through a credentials.json planted as a link to a JSON file of
	// the user's: refused, the file kept (setup's save would have replaced
	// it with the credentials' fields, dropping its own).
	q := &profile{tb: t, bin: bin, dir: t.TempDir()}
	os.Chmod(q.dir, 0o1777)
	own := filepath.Join(victimDir, "config.json")
	const ownJSON = `{"auths": {"registry.example": {"auth": "the user's own"}}}`
	os.WriteFile(own, []byte(ownJSON), 0o600)
	link := q.path("credentials.json")
	if err := os.Symlink(own, link); err != nil {
		t.Fatal(err)
	}
	os.Lchown(link, 65534, 65534)
	cmd := q.command("setup", "--no-input", "--token-url", "https://provider.example/token",
		"--grant-type", "client_credentials", "--app-id", "x", "--client-secret", "-")
	cmd.Stdin = strings.NewReader("hostile-client-secret\n")
	o := q.run(cmd)
	if o.code != exitConfig || !strings.Contains(o.stderr, link+": is a symbolic link of another user") {
		t.Errorf("setup through a planted credentials.json: %s, want 78 refusing the link", o)
	}
	if b, _ := os.ReadFile(own); string(b) != ownJSON {
		t.Errorf("the file the planted credentials.json names now holds %q", b)
	}
}

// runBounded runs a command that must end by itself within 10 s (serve that
// refuses to start); one that does not is killed and fails the test.
func runBounded(t *testing.T, p *profile, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := p.command(args...)
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = p.command().Env
	o := p.run(cmd)
	if ctx.Err() != nil {
		t.Fatalf("tokenkeeper %s did not end by itself: %s", strings.Join(args, " "), o)
	}
	return o
}

// testServeSecretFile: --secret-file never writes through a link (planted by
// another user in a shared directory, it would make serve replace the link's
// target with the secret and leave it there) and never over, and then
// removes, a file that is not a secret left by serve; a stale secret file of
// a killed serve is replaced.
func testServeSecretFile(t *testing.T, bin string) {
	p, _ := newIntegrationProfile(t, bin)
	shared := t.TempDir()
	os.Chmod(shared, 0o1777)
	precious := p.path("precious.txt")
	if err := os.WriteFile(precious, []byte("the user's own file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(shared, "secret")
	if err := os.Symlink(precious, link); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.Lchown(link, 65534, 65534) // planted by another user
	}
	existing := p.path("notes.txt")
	os.WriteFile(existing, []byte("notes\n"), 0o600)
	for _, path := range []string{link, existing} {
		o := runBounded(t, p, "serve", "--listen", "127.0.0.1:0", "--secret-file", path)
		if o.code == 0 || !strings.Contains(o.stderr, path) || !strings.Contains(o.stderr, "not replacing it") {
			t.Errorf("serve --secret-file %s: %s, want a refusal naming the path", path, o)
		}
	}
	if b, _ := os.ReadFile(precious); string(b) != "the user's own file\n" {
		t.Errorf("the link's target now holds %q", b)
	}
	if b, _ := os.ReadFile(existing); string(b) != "notes\n" {
		t.Errorf("the existing file now holds %q", b)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the link is gone: %v", err)
	}

	// A serve killed with -9 leaves its secret file; the next one replaces it.
	stale := p.path("serve.secret")
	os.WriteFile(stale, []byte(strings.Repeat("A", 43)+"\n"), 0o600)
	_, stop := startServe(t, p, "serve", "--listen", "127.0.0.1:0", "--secret-file", stale)
	if b, _ := os.ReadFile(stale); strings.Contains(string(b), strings.Repeat("A", 43)) {
		t.Error("the stale secret was not replaced")
	}
	if o := stop(); o.code != 0 {
		t.Errorf("serve: %s", o)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the secret file is still there after SIGTERM (%v)", err)
	}
}

// hostileProvider is a provider whose answers a test writes by hand: each
// path answers the JSON the test gives it.
type hostileProvider struct {
	srv     *httptest.Server
	mu      sync.Mutex // the binary's requests come while a test sets answers
	answers map[string]func(w http.ResponseWriter, r *http.Request)
}

func newHostileProvider(t *testing.T) *hostileProvider {
	hp := &hostileProvider{answers: map[string]func(http.ResponseWriter, *http.Request){}}
	hp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hp.mu.Lock()
		h := hp.answers[r.URL.Path]
		hp.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(hp.srv.Close)
	return hp
}

// answer makes path answer status and v as JSON.
func (hp *hostileProvider) answer(path string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	hp.mu.Lock()
	defer hp.mu.Unlock()
	hp.answers[path] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
}

// deviceProfile is a --dir profile of a public client of hp's device grant.
func deviceProfile(t *testing.T, bin string, hp *hostileProvider) *profile {
	p := &profile{tb: t, bin: bin, dir: t.TempDir()}
	creds := map[string]string{"tokenURL": hp.srv.URL + "/token", "deviceAuthURL": hp.srv.URL + "/device",
		"revocationURL": hp.srv.URL + "/revoke", "grantType": "device_code", "appID": "hostile-app"}
	data, _ := json.Marshal(creds)
	if err := os.WriteFile(p.path("credentials.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	hp.answer("/device", 200, map[string]any{"device_code": "hostile-device-code-0001", "user_code": "ABCD-EFGH",
		"verification_uri": "https://provider.example/device", "interval": 1, "expires_in": 60})
	return p
}

// testLoginNoAccessToken: a login whose answer carries a refresh token beside
// an access token that cannot be used (a space in it) saves the refresh token
// and says the access token was left out, as a refresh or a bootstrap does;
// it does not say "logged in: access token valid" and exit 0 with no access
// token saved.
func testLoginNoAccessToken(t *testing.T, bin string) {
	hp := newHostileProvider(t)
	p := deviceProfile(t, bin, hp)
	hp.answer("/token", 200, map[string]any{"access_token": "not usable", "token_type": "Bearer",
		"expires_in": 3600, "refresh_token": "hostile-refresh-token-0001"})
	o := runBounded(t, p, "login")
	if o.code != exitTemp || strings.Contains(o.stderr, "logged in") || !strings.Contains(o.stderr, "left out of the token endpoint's answer") {
		t.Errorf("login: %s, want exit 75 and the access token left out", o)
	}
	if tok, _ := p.load(); tok.RefreshToken != "hostile-refresh-token-0001" || tok.AccessToken != "" {
		t.Errorf("saved refresh token right: %t, access token empty: %t; want both", tok.RefreshToken == "hostile-refresh-token-0001", tok.AccessToken == "")
	}
}

// testTerminalEscapes: no text tokenkeeper prints carries a control sequence,
// whatever its source: here the target of a link planted where the token
// file goes, and git's input shown by -v. An ESC in a message would let
// whoever chose the text clear the screen, retitle the window or hide the
// lines around it.
func testTerminalEscapes(t *testing.T, bin string) {
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{})
	evil := "/nonexistent/\x1b]0;pwned\x07\x1b[2J\x1b[8mhidden\u009b31m\u202e"
	if err := os.Symlink(evil, p.tokenFile()); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"token"}, {"refresh", "-v"}, {"status"}, {"status", "--json"}, {"--log-format", "json", "token"},
	} {
		o := p.run(p.command(args...))
		if o.code == 0 || !strings.Contains(o.stdout+o.stderr, "symbolic link") {
			t.Errorf("tokenkeeper %s: %s, want the dangling link reported", strings.Join(args, " "), o)
		}
		checkNoControls(t, args, o)
	}
	os.Remove(p.tokenFile())
	p.mustRun("refresh")
	cmd := p.command("-v", "git-credential", "get")
	cmd.Stdin = strings.NewReader("protocol=\x1b]0;pwned\x07\nhost=example.com\n\n")
	checkNoControls(t, cmd.Args[1:], p.run(cmd))
}

// checkNoControls fails the test if o's output holds a control character
// other than a line break, or a C1 control or bidirectional override.
func checkNoControls(t *testing.T, args []string, o outcome) {
	t.Helper()
	for name, out := range map[string]string{"stdout": o.stdout, "stderr": o.stderr} {
		if i := strings.IndexFunc(out, func(r rune) bool {
			return r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x202e)
		}); i >= 0 {
			t.Errorf("tokenkeeper %s: %s holds %q:\n%s", strings.Join(args, " "), name, out[i:min(len(out), i+8)], out)
		}
	}
}

// testUnknownExpiryCached: a token whose expiry is unknown (no expires_in, not
// a JWT) is handed out once and renewed on the next use; a tool that caches it
// must be told to ask again soon. git-credential said password_expiry_utc=
// -62135596800 (the zero time), which git reads as an unsigned number, a date
// that never comes, and exec-credential said year 1.
func testUnknownExpiryCached(t *testing.T, bin string) {
	hp := newHostileProvider(t)
	hp.answer("/token", 200, map[string]any{"access_token": "hostile-access-token-0001", "token_type": "Bearer"})
	p := &profile{tb: t, bin: bin, dir: t.TempDir()}
	data, _ := json.Marshal(map[string]string{"tokenURL": hp.srv.URL + "/token", "grantType": "client_credentials",
		"appID": "hostile-app", "clientSecret": "hostile-client-secret-0001"})
	os.WriteFile(p.path("credentials.json"), data, 0o600)
	cmd := p.command("git-credential", "get")
	cmd.Stdin = strings.NewReader("protocol=https\nhost=" + strings.TrimPrefix(hp.srv.URL, "http://") + "\n\n")
	o := p.run(cmd)
	m := regexp.MustCompile(`password_expiry_utc=(-?\d+)\n`).FindStringSubmatch(o.stdout)
	if o.code != 0 || m == nil {
		t.Fatalf("git-credential get: %s\n%s", o, strings.ReplaceAll(o.stdout, "hostile-access-token-0001", "[access token]"))
	}
	now := time.Now()
	if at, _ := strconv.ParseInt(m[1], 10, 64); at < now.Unix() || at > now.Add(2*time.Minute).Unix() {
		t.Errorf("password_expiry_utc=%s, want within two minutes from now (%d)", m[1], now.Unix())
	}
	o = p.mustRun("token", "-o", "exec-credential")
	var ec execCredential
	json.Unmarshal([]byte(o.stdout), &ec)
	if at, err := time.Parse(time.RFC3339, ec.Status.ExpirationTimestamp); err != nil || at.Before(now.Add(-time.Second)) || at.After(now.Add(2*time.Minute)) {
		t.Errorf("expirationTimestamp %q, want within two minutes from now", ec.Status.ExpirationTimestamp)
	}
}

// testRefusalHarmlessEdit: a remembered refusal stands until the credentials
// that go into the grant change. An edit of a field no grant of a run sends
// (gitUsername, gitHost; the endpoints of login and logout) is no new credential: it
// must not send the refused grant again. Nor is a reformatted file, or a
// value given with spaces around it.
func testRefusalHarmlessEdit(t *testing.T, bin string) {
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{})
	p.srv.SetRequestToken("a-request-token-generated-since")
	if o := p.run(p.command("refresh")); o.code != exitNeedsHuman {
		t.Fatalf("refresh with a stale request token: %s, want 77", o)
	}
	var creds map[string]string
	data, _ := os.ReadFile(p.path("credentials.json"))
	json.Unmarshal(data, &creds)
	for _, edit := range []map[string]string{
		{"gitUsername": "x-access-token"},
		// One at a time: an edit of several at once would pass as long as
		// one of them is still left out of the grant's fingerprint.
		{"revocationURL": p.srv.URL() + "/revoke"},
		{"redirectURL": "http://127.0.0.1:8400/callback"},
		{"gitHost": "git.example.test"},
		{"authURL": p.srv.URL() + "/authorize"},
		{"deviceAuthURL": p.srv.URL() + "/device"},
		{"appID": " " + creds["appID"] + " "},
	} {
		c := map[string]string{}
		for k, v := range creds {
			c[k] = v
		}
		for k, v := range edit {
			c[k] = v
		}
		data, _ := json.MarshalIndent(c, "", "\t")
		os.WriteFile(p.path("credentials.json"), data, 0o600)
		if o := p.run(p.command("refresh")); o.code != exitNeedsHuman {
			t.Errorf("refresh after %v: %s, want 77", edit, o)
		}
		if n := p.srv.Count("password"); n != 1 {
			t.Errorf("after %v: %d password grants sent, want the refused one only", edit, n)
		}
	}
}

// testGitCredentialOtherHost: git-credential hands the access token only to
// the host it is for (gitHost, else the token endpoint's host). With the
// helper configured for every host (credential.helper, as many set it), a
// repository or submodule URL on any https host got the token.
func testGitCredentialOtherHost(t *testing.T, bin string) {
	p, tok := newIntegrationProfile(t, bin)
	hide := func(s string) string { return strings.ReplaceAll(s, tok.AccessToken, "[access token]") }
	get := func(host string) outcome {
		cmd := p.command("git-credential", "get")
		cmd.Stdin = strings.NewReader("protocol=https\nhost=" + host + "\npath=evil/repo.git\n\n")
		return p.run(cmd)
	}
	if o := get("attacker.example"); o.code != 0 || o.stdout != "" || p.srv.Count("refresh_token") != 0 {
		t.Errorf("get for another host: %q (%s), want no answer, exit 0 and no renewal", hide(o.stdout), o)
	}
	tokenHost := strings.TrimPrefix(p.srv.URL(), "http://")
	if o := get(tokenHost); !strings.Contains(o.stdout, "password="+tok.AccessToken+"\n") {
		t.Errorf("get for the token endpoint's host %s: %q (%s)", tokenHost, hide(o.stdout), o)
	}
	p.setCredential("gitHost", "Git.Example.test")
	if o := get("git.example.test"); !strings.Contains(o.stdout, "password="+tok.AccessToken+"\n") {
		t.Errorf("get for gitHost: %q (%s)", hide(o.stdout), o)
	}
	if o := get(tokenHost); o.stdout != "" {
		t.Errorf("get for the token endpoint's host with another gitHost: %q, want no answer", hide(o.stdout))
	}
}

// setCredential sets one field of the profile's credentials.json.
func (p *profile) setCredential(key, value string) {
	p.tb.Helper()
	var creds map[string]string
	data, err := os.ReadFile(p.path("credentials.json"))
	if err == nil {
		err = json.Unmarshal(data, &creds)
	}
	if err != nil {
		p.tb.Fatal(err)
	}
	creds[key] = value
	data, _ = json.Marshal(creds)
	if err := os.WriteFile(p.path("credentials.json"), data, 0o600); err != nil {
		p.tb.Fatal(err)
	}
}

// testLogoutForgets: at a provider without a revocation endpoint, logout says
// it forgot the token while the grant stays live there. It kept the live
// refresh token in refreshTokenObjectFile.json.corrupt-<time> beside the token
// file, where a backup or the next reader of the directory finds a live grant.
// No file of the profile may hold either token after logout.
func testLogoutForgets(t *testing.T, bin string) {
	hp := newHostileProvider(t)
	p := deviceProfile(t, bin, hp)
	p.setCredential("revocationURL", "")
	hp.answer("/token", 200, map[string]any{"access_token": "hostile-access-token-0002", "token_type": "Bearer",
		"expires_in": 3600, "refresh_token": "hostile-refresh-token-0002"})
	if o := runBounded(t, p, "login"); o.code != 0 {
		t.Fatalf("login: %s", o)
	}
	o := runBounded(t, p, "logout")
	if o.code != 0 || !strings.Contains(o.stderr, "still live") {
		t.Errorf("logout: %s, want exit 0 and the grant said to be live", o)
	}
	entries, _ := os.ReadDir(p.dir)
	for _, e := range entries {
		data, _ := os.ReadFile(p.path(e.Name()))
		if strings.Contains(string(data), "hostile-refresh-token-0002") || strings.Contains(string(data), "hostile-access-token-0002") {
			t.Errorf("after logout, %s still holds a token", e.Name())
		}
	}
	if o := p.run(p.command("token")); o.code != exitNeedsHuman {
		t.Errorf("token after logout: %s, want 77", o)
	}
}

// testForeignCredentials: a credentials.json of another user (not root) is
// warned about, with how to make it the user's own: its owner could point
// tokenURL at a server of theirs, which the refresh token would be sent to.
// Takes root (chown).
func testForeignCredentials(t *testing.T, bin string) {
	if os.Geteuid() != 0 {
		t.Skip("a file of another user takes root")
	}
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{})
	creds := p.path("credentials.json")
	os.Chown(creds, 65534, 65534)
	want := creds + " belongs to another user (uid 65534), who can change it; run: cp "
	if o := p.mustRun("refresh"); !strings.Contains(o.stderr, "warning: "+want) {
		t.Errorf("refresh: %s, want the warning %q", o, want)
	}
	if o := p.run(p.command("status")); !strings.Contains(o.stdout, want) {
		t.Errorf("status: %s\n%s, want the warning", o, o.stdout)
	}
	os.Chown(creds, 0, 0) // the user's own again
	if o := p.mustRun("refresh"); strings.Contains(o.stderr, "belongs to another user") {
		t.Errorf("refresh with the user's own credentials.json: %s, want no warning", o)
	}
}
