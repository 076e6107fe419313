package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/oidcnode"
	"github.com/tokenkeeper/tokenkeeper/internal/oidcprovider"
)

// interopProvider is one provider implementation that nobody here wrote,
// running on 127.0.0.1, as the interop matrix sees it: its clients, how a
// person logs in at it, and the counters and controls a test needs.
type interopProvider struct {
	name   string
	issuer string
	// client is a public client of the code and device grants with refresh
	// tokens; authParams what its authorization request needs for one.
	client     string
	authParams map[string]string
	// fewerClient's grant carries fewer scopes than asked ("" none).
	fewerClient string
	// service and serviceSecret: a client_credentials client.
	service, serviceSecret string
	// browser: $BROWSER's provider (browserProviderEnv); username who logs in.
	browser, username string
	// reuseDetection: presenting a rotated-away refresh token ends the grant.
	reuseDetection bool

	refreshUses func() map[string]int
	// scopedRefreshes counts refresh requests that carried a scope (nil:
	// the provider does not tell).
	scopedRefreshes func() int
	live            func(rt string) bool
	revokeGrant     func(t *testing.T, rt string)
	approveDevice   func(uri, code string) error
}

// The providers of the matrix; each case starts its own.
var interopProviders = []struct {
	name  string
	start func(t *testing.T) *interopProvider
}{
	{"zitadel-op", startZitadelOP},
	{"oidc-provider", startOIDCProvider},
}

func startZitadelOP(t *testing.T) *interopProvider {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	return &interopProvider{
		name: "zitadel-op", issuer: p.Issuer, client: p.ClientID,
		service: oidcprovider.ServiceClientID, serviceSecret: oidcprovider.ServiceClientSecret,
		username: p.Username,
		// The example storage of zitadel's op deletes a refresh token when it
		// rotates it and keeps its successor live: no reuse detection.
		reuseDetection: false,
		refreshUses:    p.RefreshUses,
		live:           p.RefreshTokenLive,
		revokeGrant:    func(*testing.T, string) { p.RevokeAll() },
		approveDevice: func(uri, code string) error {
			return oidcprovider.ApproveDevice(uri, code, p.Username, oidcprovider.Password, "allow")
		},
	}
}

func startOIDCProvider(t *testing.T) *interopProvider {
	p := oidcnode.Start(t)
	return &interopProvider{
		name: "oidc-provider", issuer: p.Issuer, client: oidcnode.PublicClient,
		// oidc-provider grants offline_access, and so a refresh token, only
		// when the authorization request carries prompt=consent (OpenID
		// Connect Core §11, which it applies to the letter).
		authParams:  map[string]string{"prompt": "consent"},
		fewerClient: oidcnode.FewerClient,
		service:     oidcnode.ServiceClient, serviceSecret: oidcnode.ServiceSecret,
		browser: "oidc-provider", username: oidcnode.Username,
		reuseDetection:  true,
		refreshUses:     p.RefreshUses,
		scopedRefreshes: p.RefreshesWithScope,
		live:            p.RefreshTokenLive,
		revokeGrant: func(t *testing.T, rt string) {
			if err := p.RevokeGrant(rt); err != nil {
				t.Fatal(err)
			}
		},
		approveDevice: func(uri, code string) error {
			return oidcnode.ApproveDevice(uri, code, oidcnode.Username, oidcnode.Password, "allow")
		},
	}
}

// refreshes is how many refresh requests the provider has received.
func (ip *interopProvider) refreshes() int {
	n := 0
	for _, v := range ip.refreshUses() {
		n += v
	}
	return n
}

// discover reads the provider's OpenID configuration, as a test's own view.
func (ip *interopProvider) discover(t *testing.T) map[string]any {
	t.Helper()
	resp, err := http.Get(ip.issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// spend redeems refresh token rt at the provider, as a copy of the grant
// elsewhere would, and returns the refresh token of the answer.
func (ip *interopProvider) spend(t *testing.T, client, rt string) string {
	t.Helper()
	tokenURL, _ := ip.discover(t)["token_endpoint"].(string)
	resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		RefreshToken string `json:"refresh_token"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &ans) != nil {
		t.Fatalf("out-of-band refresh: %d %s", resp.StatusCode, body)
	}
	return ans.RefreshToken
}

// interopProfile is a --dir profile at one provider.
type interopProfile struct {
	*loginProfile
	ip *interopProvider
}

// newInteropProfile writes credentials.json for grant with client (for
// client_credentials, the service client and its secret); creds adds fields,
// or removes those it maps to nil.
func newInteropProfile(t *testing.T, bin string, ip *interopProvider, grant, client string, creds map[string]any) *interopProfile {
	t.Helper()
	c := map[string]any{"issuer": ip.issuer, "grantType": grant, "appID": client, "scope": "openid offline_access"}
	switch {
	case grant == "client_credentials":
		c["appID"], c["clientSecret"] = ip.service, ip.serviceSecret
		delete(c, "scope")
	case len(ip.authParams) > 0 && client == ip.client:
		c["authParams"] = ip.authParams
	}
	for k, v := range creds {
		if c[k] = v; v == nil {
			delete(c, k)
		}
	}
	dir := t.TempDir()
	data, _ := json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return &interopProfile{loginProfile: &loginProfile{t: t, bin: bin, dir: dir}, ip: ip}
}

// run is tokenkeeper --dir DIR args…; action "allow"/"deny" sets $BROWSER to
// the scripted browser at this provider. A browser that fails ends the
// command (it would wait for its callback for minutes) and fails the test
// with the browser's reason.
func (pp *interopProfile) run(action string, args ...string) outcome {
	pp.t.Helper()
	cmd := pp.cmd(action, args...)
	if action == "" {
		return runAll(pp.t, []*exec.Cmd{cmd})[0]
	}
	log := filepath.Join(pp.t.TempDir(), "browser.log")
	cmd.Env = append(cmd.Env, browserLogEnv+"="+log)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		pp.t.Fatal(err)
	}
	done := make(chan outcome, 1)
	go func() { done <- wait(cmd, &stdout, &stderr) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case o := <-done:
			return o
		case <-tick.C:
			if msg, err := os.ReadFile(log); err == nil && len(msg) > 0 {
				cmd.Process.Kill()
				<-done
				pp.t.Fatalf("the browser failed at %s: %s", pp.ip.name, msg)
			}
		}
	}
}

func (pp *interopProfile) cmd(action string, args ...string) *exec.Cmd {
	cmd := pp.command("", args...)
	if action != "" {
		cmd.Env = append(cmd.Env, "BROWSER="+os.Args[0], browserActionEnv+"="+action,
			browserUserEnv+"="+pp.ip.username, browserProviderEnv+"="+pp.ip.browser)
	}
	return cmd
}

// login logs in with the code grant and fails the test unless a refresh
// token is saved.
func (pp *interopProfile) login() {
	pp.t.Helper()
	o := pp.run("allow", "login")
	if o.code != 0 {
		pp.t.Fatalf("login at %s: %s", pp.ip.name, o)
	}
	if pp.token().RefreshToken == "" {
		pp.t.Fatalf("login at %s saved no refresh token:\n%s", pp.ip.name, o.stderr)
	}
}

func (pp *interopProfile) tokenFile() string {
	return filepath.Join(pp.dir, "refreshTokenObjectFile.json")
}

// TestInterop is the matrix of grants and events against real provider
// implementations (docs/providers.md, "Provider implementations it is tested against"), through the binary.
// A provider whose runtime is missing (node for oidc-provider) is skipped,
// naming what to install.
func TestInterop(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary and starts providers")
	}
	bin := buildTokenkeeper(t)
	cases := []struct {
		name string
		test func(t *testing.T, bin string, ip *interopProvider)
	}{
		{"Discovery", interopDiscovery},
		{"AuthorizationCode", interopAuthorizationCode},
		{"Device", interopDevice},
		{"ClientCredentials", interopClientCredentials},
		{"RotationStampede", interopRotationStampede},
		{"SpentOutOfBand", interopSpentOutOfBand},
		{"RevokedGrant", interopRevokedGrant},
		{"LogoutRevokes", interopLogoutRevokes},
		{"LogoutWithoutRevocation", interopLogoutWithoutRevocation},
		{"FewerScopes", interopFewerScopes},
		{"OfflineAccessNeedsConsent", interopOfflineAccessNeedsConsent},
	}
	for _, prov := range interopProviders {
		t.Run(prov.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.test(t, bin, prov.start(t))
				})
			}
		})
	}
}

// The token endpoint used is the one the provider's discovery document names,
// and it is cached in the record.
func interopDiscovery(t *testing.T, bin string, ip *interopProvider) {
	pp := newInteropProfile(t, bin, ip, "authorization_code", ip.client, nil)
	pp.login()
	doc := ip.discover(t)
	if got, want := pp.token().TokenURL, doc["token_endpoint"]; got != want {
		t.Errorf("token_url %q, want the discovered %q", got, want)
	}
	if _, ok := doc["revocation_endpoint"].(string); !ok {
		t.Errorf("%s advertises no revocation_endpoint; the logout cases assume one", ip.name)
	}
}

func interopAuthorizationCode(t *testing.T, bin string, ip *interopProvider) {
	pp := newInteropProfile(t, bin, ip, "authorization_code", ip.client, nil)
	o := pp.run("allow", "login")
	if o.code != 0 || !strings.Contains(o.stderr, "code_challenge_method=S256") {
		t.Fatalf("login: %s", o)
	}
	tok := pp.token()
	if tok.RefreshToken == "" || tok.AccessToken == "" {
		t.Fatal("login saved no access or refresh token")
	}
	if strings.Contains(o.stderr+o.stdout, tok.RefreshToken) || strings.Contains(o.stderr+o.stdout, tok.AccessToken) {
		t.Error("login printed a token")
	}
	if o := pp.run("", "token"); o.code != 0 || strings.TrimSpace(o.stdout) != tok.AccessToken {
		t.Errorf("token after login: %s", o)
	}
	if n := ip.refreshes(); n != 0 {
		t.Errorf("%d refresh requests for a fresh access token, want none", n)
	}
}

func interopDevice(t *testing.T, bin string, ip *interopProvider) {
	pp := newInteropProfile(t, bin, ip, "device_code", ip.client, nil)
	cmd := pp.cmd("", "login")
	cmd.Env = append(cmd.Env, "BROWSER=/nonexistent/browser-must-not-run")
	all, err := deviceLogin(t, cmd, ip.approveDevice)
	if err != nil {
		t.Fatalf("login with the device grant: %v\n%s", err, all)
	}
	rt := pp.token().RefreshToken
	if rt == "" {
		t.Fatal("no refresh token saved")
	}
	if o := pp.run("", "refresh", "--force"); o.code != 0 {
		t.Fatalf("refresh after a device login: %s", o)
	}
	if uses := ip.refreshUses(); uses[rt] != 1 {
		t.Errorf("the device grant's refresh token was sent %d times, want once", uses[rt])
	}
}

// The client credentials grant bootstraps from discovery alone, and again
// when forced: there is no refresh token to keep.
func interopClientCredentials(t *testing.T, bin string, ip *interopProvider) {
	pp := newInteropProfile(t, bin, ip, "client_credentials", "", nil)
	o := pp.run("", "token")
	if o.code != 0 || strings.TrimSpace(o.stdout) == "" {
		t.Fatalf("token: %s", o)
	}
	first := pp.token().AccessToken
	if o := pp.run("", "refresh", "--force"); o.code != 0 {
		t.Fatalf("refresh --force: %s", o)
	}
	if pp.token().AccessToken == first {
		t.Error("refresh --force kept the access token")
	}
	if ip.refreshes() != 0 {
		t.Error("a refresh token was sent for a client_credentials grant")
	}
}

// stampede expires the access token and starts 20 processes at once, half
// `token`, half `refresh`, for rounds rounds: each round sends exactly one
// refresh request, each refresh token is sent once, and the saved one is the
// provider's live one.
func (pp *interopProfile) stampede(rounds int) {
	t := pp.t
	t.Helper()
	for round := 1; round <= rounds; round++ {
		before, rt := pp.ip.refreshes(), pp.token().RefreshToken
		expireAccess(t, pp.tokenFile())
		cmds := make([]*exec.Cmd, 20)
		for i := range cmds {
			cmds[i] = pp.cmd("", []string{"token", "refresh"}[i%2])
		}
		failed, first := 0, outcome{}
		for _, o := range runAll(t, cmds) {
			if o.code != 0 {
				if failed++; failed == 1 {
					first = o
				}
			}
		}
		if failed > 0 {
			t.Fatalf("round %d at %s: %d of 20 processes failed; the first: %s", round, pp.ip.name, failed, first)
		}
		if n := pp.ip.refreshes() - before; n != 1 {
			t.Errorf("round %d: %d refresh requests reached %s, want one", round, n, pp.ip.name)
		}
		now := pp.token().RefreshToken
		if now == rt {
			t.Errorf("round %d: the refresh token did not rotate", round)
		}
		if !pp.ip.live(now) {
			t.Errorf("round %d: the saved refresh token is not the provider's live one", round)
		}
	}
	for _, n := range pp.ip.refreshUses() {
		if n != 1 {
			t.Errorf("a refresh token was sent %d times, want once", n)
		}
	}
	// A refresh asks for nothing new (RFC 6749 §6): no scope.
	if pp.ip.scopedRefreshes != nil {
		if n := pp.ip.scopedRefreshes(); n != 0 {
			t.Errorf("%d refresh requests carried a scope, want none", n)
		}
	}
}

func interopRotationStampede(t *testing.T, bin string, ip *interopProvider) {
	pp := newInteropProfile(t, bin, ip, "authorization_code", ip.client, nil)
	pp.login()
	pp.stampede(3)
}

// A refresh token redeemed elsewhere (a copy of the record on another host):
// ours is now rotated away. The next run exits 77 naming login, remembers
// it, and sends the dead refresh token no more; login recovers.
func interopSpentOutOfBand(t *testing.T, bin string, ip *interopProvider) {
	pp := newInteropProfile(t, bin, ip, "authorization_code", ip.client, nil)
	pp.login()
	rt := pp.token().RefreshToken
	theirs := ip.spend(t, ip.client, rt)
	expireAccess(t, pp.tokenFile())
	login := "hint: run tokenkeeper --dir " + shellQuote(pp.dir) + " login"
	o := pp.run("", "refresh")
	if o.code != exitNeedsHuman || !strings.Contains(o.stderr, login) {
		t.Fatalf("refresh with a refresh token spent elsewhere: %s, want 77 with %q", o, login)
	}
	behaviour := ip.name + " has no reuse detection: the other copy's refresh token lives on"
	if ip.reuseDetection {
		behaviour = ip.name + " detects reuse: the whole grant ends, the other copy's refresh token too"
	}
	t.Run(behaviour, func(t *testing.T) {
		if got := ip.live(theirs); got == ip.reuseDetection {
			t.Errorf("the other copy's refresh token live=%v after our rotated-away one was presented", got)
		}
	})
	before := ip.refreshes()
	if o := pp.run("", "token"); o.code != exitNeedsHuman {
		t.Errorf("token after the refusal: %s, want 77", o)
	}
	if n := ip.refreshes() - before; n != 0 {
		t.Errorf("the dead refresh token was sent again (%d requests)", n)
	}
	pp.login()
	if o := pp.run("", "refresh", "--force"); o.code != 0 {
		t.Errorf("refresh after a new login: %s", o)
	}
}

// An administrator revokes the grant: the next refresh exits 77 naming login.
func interopRevokedGrant(t *testing.T, bin string, ip *interopProvider) {
	pp := newInteropProfile(t, bin, ip, "authorization_code", ip.client, nil)
	pp.login()
	ip.revokeGrant(t, pp.token().RefreshToken)
	login := "hint: run tokenkeeper --dir " + shellQuote(pp.dir) + " login"
	if o := pp.run("", "refresh", "--force"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, login) {
		t.Fatalf("refresh of a revoked grant: %s, want 77 with %q", o, login)
	}
}

func interopLogoutRevokes(t *testing.T, bin string, ip *interopProvider) {
	pp := newInteropProfile(t, bin, ip, "authorization_code", ip.client, nil)
	pp.login()
	rt := pp.token().RefreshToken
	o := pp.run("", "logout")
	if o.code != 0 || !strings.Contains(o.stderr, "revoked the refresh token") {
		t.Fatalf("logout: %s", o)
	}
	if ip.live(rt) {
		t.Error("the provider still accepts the refresh token after logout")
	}
	if o := pp.run("", "token"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, "login") {
		t.Errorf("token after logout: %s, want 77 naming login", o)
	}
}

// Without a revocation endpoint in credentials.json (no issuer, explicit
// endpoints), logout forgets, says the grant is still live, and exits 0.
func interopLogoutWithoutRevocation(t *testing.T, bin string, ip *interopProvider) {
	doc := ip.discover(t)
	pp := newInteropProfile(t, bin, ip, "authorization_code", ip.client, map[string]any{
		"issuer": nil, "tokenURL": doc["token_endpoint"], "authURL": doc["authorization_endpoint"]})
	pp.login()
	rt := pp.token().RefreshToken
	o := pp.run("", "logout")
	if o.code != 0 || !strings.Contains(o.stderr, "the grant is still live there") {
		t.Fatalf("logout: %s", o)
	}
	if !ip.live(rt) {
		t.Error("the grant was revoked, but there was no revocation endpoint to do it")
	}
	if o := pp.run("", "token"); o.code != exitNeedsHuman {
		t.Errorf("token after logout: %s, want 77", o)
	}
}

// The profile asks "openid offline_access"; the provider grants "openid" and
// a refresh token that carries only that. Refreshes must go on working: a
// refresh asks for nothing new (RFC 6749 §6).
func interopFewerScopes(t *testing.T, bin string, ip *interopProvider) {
	if ip.fewerClient == "" {
		t.Skipf("%s grants every scope asked for: no such grant to test", ip.name)
	}
	pp := newInteropProfile(t, bin, ip, "authorization_code", ip.fewerClient, nil)
	pp.login()
	if got := pp.token().Scope; got != "openid" {
		t.Fatalf("%s's answer has scope %q, want \"openid\" (fewer than asked)", ip.name, got)
	}
	pp.stampede(3)
	if o := pp.run("", "status"); o.code != 0 {
		t.Errorf("status after the renewals: %s\n%s", o, o.stdout)
	}
}

// A provider that grants offline_access only when the authorization request
// asks for consent (oidc-provider: prompt=consent) gives a profile without it
// no refresh token. login says so; when the access token expires, the next run
// asks a person to log in again (77), and sends no request.
func interopOfflineAccessNeedsConsent(t *testing.T, bin string, ip *interopProvider) {
	if len(ip.authParams) == 0 {
		t.Skipf("%s grants offline_access as asked", ip.name)
	}
	t.Run(ip.name+" grants offline_access only with prompt=consent", func(t *testing.T) {
		pp := newInteropProfile(t, bin, ip, "authorization_code", ip.client, map[string]any{"authParams": map[string]string{}})
		o := pp.run("allow", "login")
		advice := `no refresh token: the provider did not grant offline_access; many grant it only when the login asks for consent: add "authParams": {"prompt": "consent"}`
		if o.code != 0 || !strings.Contains(o.stderr, advice) {
			t.Fatalf("login without prompt=consent: %s, want 0 warning %q", o, advice)
		}
		if rt := pp.token().RefreshToken; rt != "" {
			t.Fatalf("%s gave a refresh token without prompt=consent", ip.name)
		}
		expireAccess(t, pp.tokenFile())
		login := "run tokenkeeper --dir " + shellQuote(pp.dir) + " login"
		if o := pp.run("", "token"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, login) {
			t.Errorf("token once the access token expired: %s, want 77 with %q", o, login)
		}
		if n := ip.refreshes(); n != 0 {
			t.Errorf("%d refresh requests without a refresh token", n)
		}
	})
}
