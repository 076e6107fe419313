package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/oidcnode"
	"github.com/tokenkeeper/tokenkeeper/internal/oidcprovider"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// $BROWSER for the login tests is this test binary (TestMain): with
// browserActionEnv set it takes the URL as its only argument, logs in at the
// provider as browserUserEnv and allows or refuses ("allow", "deny").
// With browserEnvFileEnv set, it first writes the environment it was given
// to that file.
// browserProviderEnv "oidc-provider" makes it a browser at panva's
// oidc-provider (internal/oidcnode), whose pages differ, and "demo" one at
// tokenkeeper demo --serve (demo_serve_test.go); browserLogEnv names
// a file where it writes why it failed (tokenkeeper does not show a
// browser's output).
const (
	browserActionEnv   = "TKTEST_BROWSER_ACTION"
	browserUserEnv     = "TKTEST_BROWSER_USER"
	browserProviderEnv = "TKTEST_BROWSER_PROVIDER"
	browserLogEnv      = "TKTEST_BROWSER_LOG"
	browserEnvFileEnv  = "TKTEST_BROWSER_ENV_FILE"
)

func scriptedBrowser(action string) int {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "scripted browser: want the URL as the only argument, got %q\n", os.Args[1:])
		return 2
	}
	if out := os.Getenv(browserEnvFileEnv); out != "" {
		if err := os.WriteFile(out, []byte(strings.Join(os.Environ(), "\n")+"\n"), 0o600); err != nil {
			fmt.Fprintf(os.Stderr, "scripted browser: %v\n", err)
			return 1
		}
	}
	browse, password := oidcprovider.Browse, oidcprovider.Password
	switch os.Getenv(browserProviderEnv) {
	case "oidc-provider":
		browse, password = oidcnode.Browse, oidcnode.Password
	case "demo": // tokenkeeper demo --serve: a consent page, no password
		browse = func(u, _, _, action string) (int, string, error) { return demoBrowse(u, action) }
	}
	st, body, err := browse(os.Args[1], os.Getenv(browserUserEnv), password, action)
	if err != nil || st != http.StatusOK {
		msg := fmt.Sprintf("scripted browser: %d %s %v\n", st, body, err)
		fmt.Fprint(os.Stderr, msg)
		if log := os.Getenv(browserLogEnv); log != "" {
			os.WriteFile(log, []byte(msg), 0o600)
		}
		return 1
	}
	return 0
}

// loginProfile is a --dir profile of a public client at an in-process provider.
type loginProfile struct {
	t   *testing.T
	bin string
	dir string
	p   *oidcprovider.Provider
}

func newLoginProfile(t *testing.T, bin, grant string) *loginProfile {
	t.Helper()
	lp := &loginProfile{t: t, bin: bin, dir: t.TempDir(), p: oidcprovider.Start(t, oidcprovider.Options{})}
	creds := map[string]string{"issuer": lp.p.Issuer, "grantType": grant, "appID": lp.p.ClientID, "scope": "openid offline_access"}
	data, _ := json.MarshalIndent(creds, "", "  ")
	if err := os.WriteFile(filepath.Join(lp.dir, "credentials.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return lp
}

// command runs tokenkeeper --dir DIR args… with no terminal, no display and
// stdin closed, and $BROWSER the scripted browser doing action ("" none).
func (lp *loginProfile) command(action string, args ...string) *exec.Cmd {
	cmd := exec.Command(lp.bin, append([]string{"--dir", lp.dir}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + lp.dir}
	if action != "" {
		cmd.Env = append(cmd.Env, "BROWSER="+os.Args[0], browserActionEnv+"="+action, browserUserEnv+"="+lp.p.Username)
	}
	return cmd
}

func (lp *loginProfile) run(action string, args ...string) outcome {
	lp.t.Helper()
	return runAll(lp.t, []*exec.Cmd{lp.command(action, args...)})[0]
}

func (lp *loginProfile) token() *refresh.Token {
	lp.t.Helper()
	data, err := os.ReadFile(filepath.Join(lp.dir, "refreshTokenObjectFile.json"))
	if err != nil {
		lp.t.Fatal(err)
	}
	tok, err := refresh.ParseFile(data)
	if err != nil {
		lp.t.Fatal(err)
	}
	return tok
}

// TestLogin drives tokenkeeper login and what follows through the binary, at a
// real OpenID provider (zitadel/oidc's op package, in process).
func TestLogin(t *testing.T) {
	bin := binaryTest(t)
	t.Run("AuthorizationCode", func(t *testing.T) { testLoginAuthorizationCode(t, bin) })
	t.Run("Denied", func(t *testing.T) { testLoginDenied(t, bin) })
	t.Run("Device", func(t *testing.T) { testLoginDevice(t, bin) })
	t.Run("DeviceNearlyFullDisk", func(t *testing.T) { testLoginDeviceNearlyFullDisk(t, bin) })
	t.Run("Headless", func(t *testing.T) { testLoginHeadless(t, bin) })
	t.Run("RevokedGrant", func(t *testing.T) { testLoginRevokedGrant(t, bin) })
	t.Run("Logout", func(t *testing.T) { testLogout(t, bin) })
	t.Run("SetupPreset", func(t *testing.T) { testLoginSetupPreset(t, bin) })
	t.Run("Interrupted", func(t *testing.T) { testLoginInterrupted(t, bin) })
	t.Run("LogoutWithoutRevocation", func(t *testing.T) { testLogoutWithoutRevocation(t, bin) })
	t.Run("ClientRefused", func(t *testing.T) { testLoginClientRefused(t, bin) })
}

// A login that the provider ends by refusing the client (a wrong client
// secret: 78) says to run login again once the file is fixed, not refresh:
// there is no grant to refresh.
func testLoginClientRefused(t *testing.T, bin string) {
	lp := &loginProfile{t: t, bin: bin, dir: t.TempDir(), p: oidcprovider.Start(t, oidcprovider.Options{ClientSecret: "right-secret"})}
	creds := map[string]string{"issuer": lp.p.Issuer, "grantType": "authorization_code", "appID": lp.p.ClientID,
		"clientSecret": "wrong-secret", "scope": "openid offline_access"}
	data, _ := json.Marshal(creds)
	if err := os.WriteFile(filepath.Join(lp.dir, "credentials.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	o := lp.run("allow", "login")
	if o.code != exitConfig {
		t.Fatalf("login with a wrong client secret: %s, want 78", o)
	}
	login := "then run tokenkeeper --dir " + shellQuote(lp.dir) + " login"
	if !strings.Contains(o.stderr, login) || strings.Contains(o.stderr, "run tokenkeeper --dir "+shellQuote(lp.dir)+" refresh") {
		t.Errorf("the hint does not say %q (or names refresh):\n%s", login, o.stderr)
	}
}

// Without a revocation endpoint, logout forgets, says the grant is still live,
// and exits 0.
func testLogoutWithoutRevocation(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	ep, err := (&refresh.Client{}).Discover(context.Background(), lp.p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	creds := map[string]string{"tokenURL": ep.Token, "authURL": ep.Authorization, "grantType": "authorization_code",
		"appID": lp.p.ClientID, "scope": "openid offline_access"}
	data, _ := json.Marshal(creds)
	if err := os.WriteFile(filepath.Join(lp.dir, "credentials.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if o := lp.run("allow", "login"); o.code != 0 {
		t.Fatalf("login: %s", o)
	}
	rt := lp.token().RefreshToken
	o := lp.run("", "logout")
	if o.code != 0 || !strings.Contains(o.stderr, "warning: the provider has no revocation endpoint: the grant is still live there") ||
		!strings.Contains(o.stderr, "hint: revoke it") {
		t.Fatalf("logout: %s", o)
	}
	if !lp.p.RefreshTokenLive(rt) {
		t.Error("the grant was revoked, but there is no revocation endpoint to do it")
	}
	if o := lp.run("", "token"); o.code != exitNeedsHuman {
		t.Errorf("token after logout: %s, want 77", o)
	}
}

// Ctrl-C during login (--no-browser: only the URL is printed) saves nothing and
// exits 75: run it again.
func testLoginInterrupted(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	cmd := lp.command("", "login", "--no-browser")
	stderr := startStderr(t, cmd)
	var all strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		all.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "code_challenge=") {
			cmd.Process.Signal(os.Interrupt)
		}
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitTemp || !strings.Contains(all.String(), "interrupted; nothing was saved") {
		t.Fatalf("exit %d (%v), want 75 saying it was interrupted:\n%s", code, err, all.String())
	}
	// Nobody ran out of time: the hint is the login to run again, with --dir.
	if want := "tokenkeeper: hint: run tokenkeeper --dir " + shellQuote(lp.dir) + " login"; !strings.Contains(all.String(), want) || strings.Contains(all.String(), "in time") {
		t.Errorf("want the hint %q, and no 'in time':\n%s", want, all.String())
	}
	if _, err := os.Stat(filepath.Join(lp.dir, "refreshTokenObjectFile.json")); err == nil {
		t.Error("an interrupted login wrote a token file")
	}
}

// setup with a login preset saves the file and ends with the login.
func testLoginSetupPreset(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	os.Remove(filepath.Join(lp.dir, "credentials.json"))
	o := lp.run("allow", "setup", "--no-input", "--preset", "oidc", "--issuer", lp.p.Issuer, "--app-id", lp.p.ClientID)
	if o.code != 0 || !strings.Contains(o.stderr, "logged in") {
		t.Fatalf("setup --preset oidc: %s", o)
	}
	if lp.token().RefreshToken == "" {
		t.Error("no refresh token saved")
	}
}

func testLoginAuthorizationCode(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	o := lp.run("allow", "login")
	if o.code != 0 {
		t.Fatalf("login: %s", o)
	}
	if !strings.Contains(o.stderr, "code_challenge_method=S256") || !strings.Contains(o.stderr, "logged in") {
		t.Errorf("stderr does not show the URL and the result:\n%s", o.stderr)
	}
	tok := lp.token()
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token saved")
	}
	if strings.Contains(o.stderr+o.stdout, tok.RefreshToken) || strings.Contains(o.stderr+o.stdout, tok.AccessToken) {
		t.Error("login printed a token")
	}
	// The cron story: 20 processes at once after the access token expired; one
	// rotation, and no refresh token is ever sent twice.
	for round := 1; round <= 2; round++ {
		expireAccess(t, filepath.Join(lp.dir, "refreshTokenObjectFile.json"))
		cmds := make([]*exec.Cmd, 20)
		for i := range cmds {
			cmds[i] = lp.command("", "token")
		}
		for i, out := range runAll(t, cmds) {
			if out.code != 0 {
				t.Errorf("round %d, process %d: %s", round, i, out)
			}
		}
	}
	uses := lp.p.RefreshUses()
	if len(uses) < 2 {
		t.Errorf("the provider saw %d refresh tokens, want a rotation per round", len(uses))
	}
	for _, n := range uses {
		if n != 1 {
			t.Errorf("a refresh token was sent %d times, want once (counts %v)", n, countsOnly(uses))
		}
	}
	if !lp.p.RefreshTokenLive(lp.token().RefreshToken) {
		t.Error("the saved refresh token is not the provider's live one")
	}
}

func countsOnly(m map[string]int) []int {
	var out []int
	for _, n := range m {
		out = append(out, n)
	}
	return out
}

// expireAccess makes the stored access token look expired, as an hour would.
func expireAccess(t *testing.T, path string) {
	t.Helper()
	ageFile(t, path, 2*time.Hour, -time.Hour)
}

func testLoginDenied(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	o := lp.run("deny", "login")
	if o.code != exitNeedsHuman || !strings.Contains(o.stderr, "access_denied") {
		t.Fatalf("got %s, want exit 77 quoting access_denied", o)
	}
	if !strings.Contains(o.stderr, "hint: the login was refused; to try again, log in and approve the request; run tokenkeeper --dir "+lp.dir+" login") {
		t.Errorf("no login hint with the user's flags:\n%s", o.stderr)
	}
	if _, err := os.Stat(filepath.Join(lp.dir, "refreshTokenObjectFile.json")); err == nil {
		t.Error("a refused login wrote a token file")
	}
}

func testLoginDevice(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "device_code")
	cmd := lp.command("", "login")
	// A browser that must not be called: the device grant only prints.
	cmd.Env = append(cmd.Env, "BROWSER=/nonexistent/browser-must-not-run")
	var out bytes.Buffer
	cmd.Stdout = &out
	all, err := deviceLogin(t, cmd, func(verify, code string) error {
		return oidcprovider.ApproveDevice(verify, code, lp.p.Username, oidcprovider.Password, "allow")
	})
	if err != nil {
		t.Fatalf("login --device: %v\n%s", err, all)
	}
	if lp.token().RefreshToken == "" {
		t.Fatal("no refresh token saved")
	}
	if o := lp.run("", "refresh", "--force"); o.code != 0 {
		t.Errorf("refresh after a device login: %s", o)
	}
}

func testLoginHeadless(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	o := lp.run("", "login") // no DISPLAY, WAYLAND_DISPLAY or BROWSER
	if o.code != exitUsage || !strings.Contains(o.stderr, "login --device") || !strings.Contains(o.stderr, "login --no-browser") {
		t.Fatalf("got %s, want exit 2 pointing at --device and --no-browser", o)
	}
}

func testLoginRevokedGrant(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	if o := lp.run("allow", "login"); o.code != 0 {
		t.Fatalf("login: %s", o)
	}
	lp.p.RevokeAll()
	o := lp.run("", "refresh", "--force")
	if o.code != exitNeedsHuman || !strings.Contains(o.stderr, "hint: run tokenkeeper --dir "+lp.dir+" login") {
		t.Fatalf("got %s, want 77 with the login hint", o)
	}
}

func testLogout(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "authorization_code")
	if o := lp.run("allow", "login"); o.code != 0 {
		t.Fatalf("login: %s", o)
	}
	rt := lp.token().RefreshToken
	o := lp.run("", "logout")
	if o.code != 0 || !strings.Contains(o.stderr, "revoked the refresh token") {
		t.Fatalf("logout: %s", o)
	}
	if lp.p.RefreshTokenLive(rt) {
		t.Error("the provider still accepts the refresh token after logout")
	}
	o = lp.run("", "token")
	if o.code != exitNeedsHuman || !strings.Contains(o.stderr, "login") {
		t.Fatalf("token after logout: %s, want 77 with the login hint", o)
	}
	// status says the same, without a request.
	o = lp.run("", "status")
	if o.code != exitNeedsHuman || !strings.Contains(o.stdout+o.stderr, "run tokenkeeper --dir "+lp.dir+" login") {
		t.Errorf("status after logout: %s\n%s", o, o.stdout)
	}
	if o := lp.run("", "logout"); o.code != 0 || !strings.Contains(o.stderr, "nothing to revoke") {
		t.Errorf("a second logout: %s", o)
	}
}

// deviceLogin runs cmd, a login on a device grant, and approves each code it
// prints with approve, as a person on another device would. It returns all
// that cmd printed on stderr and how it ended.
func deviceLogin(t *testing.T, cmd *exec.Cmd, approve func(verify, code string) error) (string, error) {
	t.Helper()
	stderr := startStderr(t, cmd)
	re := regexp.MustCompile(`open (\S+) and enter the code (\S+)`)
	var all strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		all.WriteString(sc.Text() + "\n")
		if s := re.FindStringSubmatch(sc.Text()); s != nil {
			if err := approve(s[1], s[2]); err != nil {
				t.Error(err)
			}
		}
	}
	return all.String(), cmd.Wait()
}
