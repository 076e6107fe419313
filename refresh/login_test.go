package refresh_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/oidcprovider"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// loginManager is a Manager for a public client of p, logging in with grant.
func loginManager(t *testing.T, p *oidcprovider.Provider, grant string) *refresh.Manager {
	t.Helper()
	dir := testfs.TempDir(t)
	c := &credentials.Credentials{Issuer: p.Issuer, GrantType: grant, AppID: p.ClientID,
		Scope: "openid offline_access", AuthStyle: credentials.AuthParams, Path: filepath.Join(dir, "credentials.json")}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return &refresh.Manager{Creds: c, Paths: storage.Paths{
		CredentialsFile: c.Path, TokenFile: filepath.Join(dir, "token.json"), LockFile: filepath.Join(dir, "token.json.lock")}}
}

// browser returns a LoginOptions.Open that logs in at p as a person would.
func browser(t *testing.T, p *oidcprovider.Provider, action string, lines *[]string) refresh.LoginOptions {
	var mu sync.Mutex
	return refresh.LoginOptions{
		Notify: func(msg string) { mu.Lock(); *lines = append(*lines, msg); mu.Unlock() },
		Open: func(u string) error {
			go func() {
				if st, body, err := oidcprovider.Browse(u, p.Username, oidcprovider.Password, action); err != nil || st != http.StatusOK {
					t.Errorf("browser: %d %q %v", st, body, err)
				}
			}()
			return nil
		},
		Wait: 30 * time.Second,
	}
}

func TestLoginAuthorizationCode(t *testing.T) {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	m := loginManager(t, p, credentials.GrantAuthorizationCode)
	var lines []string
	r, err := m.Login(context.Background(), browser(t, p, "allow", &lines))
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if r.Action != refresh.ActionLoggedIn || r.Token.RefreshToken == "" || r.Token.AccessToken == "" {
		t.Fatalf("got %+v, want a logged-in token with a refresh token", r)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "code_challenge_method=S256") {
		t.Errorf("the URL shown lacks PKCE S256: %q", lines)
	}
	if n := p.CodeUses(); n != 1 {
		t.Errorf("the code was redeemed %d times, want 1", n)
	}
	// Saved where a bootstrap saves, and the usual lifecycle goes on from it:
	// a forced renewal rotates at the provider's token endpoint.
	disk, err := m.Load()
	if err != nil || disk.RefreshToken != r.Token.RefreshToken || !strings.HasPrefix(disk.TokenURL, p.Issuer) {
		t.Fatalf("token file: %+v, %v", disk, err)
	}
	r2, err := m.Ensure(context.Background(), refresh.Options{Force: true})
	if err != nil || r2.Action != refresh.ActionRefreshed || r2.Token.RefreshToken == disk.RefreshToken {
		t.Fatalf("refresh after login: %+v, %v; want a rotated refresh token", r2, err)
	}
	if p.RefreshTokenLive(disk.RefreshToken) {
		t.Error("the provider still accepts the rotated-away refresh token")
	}
}

func TestLoginDenied(t *testing.T) {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	m := loginManager(t, p, credentials.GrantAuthorizationCode)
	var lines []string
	_, err := m.Login(context.Background(), browser(t, p, "deny", &lines))
	if refresh.KindOf(err) != refresh.KindNeedsHuman || !strings.Contains(err.Error(), "access_denied") {
		t.Fatalf("got %v (kind %v), want access_denied needing a human", err, refresh.KindOf(err))
	}
	if refresh.NextOf(err) != refresh.NextLogin || !strings.Contains(refresh.HintOf(err), "log in") {
		t.Errorf("hint %q, then %v: want a person to log in again", refresh.HintOf(err), refresh.NextOf(err))
	}
	if tok, _ := m.Load(); tok != nil {
		t.Error("a refused login saved a token")
	}
}

func TestLoginDevice(t *testing.T) {
	t.Parallel()
	p := oidcprovider.Start(t, oidcprovider.Options{})
	for _, action := range []string{"allow", "deny"} {
		t.Run(action, func(t *testing.T) {
			m := loginManager(t, p, credentials.GrantDeviceCode)
			re := regexp.MustCompile(`open (\S+) and enter the code (\S+)`)
			o := refresh.LoginOptions{Wait: 30 * time.Second, Notify: func(msg string) {
				if s := re.FindStringSubmatch(msg); s != nil {
					go func() {
						if err := oidcprovider.ApproveDevice(s[1], s[2], p.Username, oidcprovider.Password, action); err != nil {
							t.Error(err)
						}
					}()
				}
			}, Open: func(string) error { t.Error("the device grant opened a browser"); return nil }}
			r, err := m.Login(context.Background(), o)
			if action == "deny" {
				if refresh.KindOf(err) != refresh.KindNeedsHuman || !strings.Contains(err.Error(), "access_denied") {
					t.Fatalf("got %v, want access_denied", err)
				}
				return
			}
			if err != nil || r.Token.RefreshToken == "" {
				t.Fatalf("device login: %+v, %v; want a refresh token", r, err)
			}
		})
	}
}

func TestLogoutRevokes(t *testing.T) {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	m := loginManager(t, p, credentials.GrantAuthorizationCode)
	var lines []string
	r, err := m.Login(context.Background(), browser(t, p, "allow", &lines))
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Logout(context.Background())
	if err != nil || !res.Revoked || res.MovedTo == "" {
		t.Fatalf("Logout: %+v, %v", res, err)
	}
	if p.RefreshTokenLive(r.Token.RefreshToken) {
		t.Error("the provider still accepts the refresh token after logout")
	}
	_, err = m.Ensure(context.Background(), refresh.Options{})
	if refresh.KindOf(err) != refresh.KindNeedsHuman || refresh.NextOf(err) != refresh.NextLogin {
		t.Fatalf("after logout: %v (then %v), want 77 asking a person to log in", err, refresh.NextOf(err))
	}
}

func TestRevokedGrantNeedsLogin(t *testing.T) {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	m := loginManager(t, p, credentials.GrantAuthorizationCode)
	var lines []string
	if _, err := m.Login(context.Background(), browser(t, p, "allow", &lines)); err != nil {
		t.Fatal(err)
	}
	p.RevokeAll()
	_, err := m.Ensure(context.Background(), refresh.Options{Force: true})
	if refresh.KindOf(err) != refresh.KindNeedsHuman || refresh.NextOf(err) != refresh.NextLogin {
		t.Fatalf("got %v (then %v), want a human who logs in", err, refresh.NextOf(err))
	}
}

func TestDiscovery(t *testing.T) {
	t.Run("oidc", func(t *testing.T) {
		p := oidcprovider.Start(t, oidcprovider.Options{IssuerPath: "/realms/test"})
		ep, err := (&refresh.Client{}).Discover(context.Background(), p.Issuer)
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range map[string]string{"token": ep.Token, "authorization": ep.Authorization, "device": ep.DeviceAuthorization, "revocation": ep.Revocation} {
			if !strings.HasPrefix(v, p.Issuer+"/") {
				t.Errorf("%s endpoint %q, want one under %s", name, v, p.Issuer)
			}
		}
	})
	t.Run("rfc8414 path rule", func(t *testing.T) {
		got, _ := refresh.DiscoveryURLs("https://as.example.com/tenant/1/")
		want := []string{"https://as.example.com/tenant/1/.well-known/openid-configuration",
			"https://as.example.com/.well-known/oauth-authorization-server/tenant/1"}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("rfc8414 fallback and issuer check", func(t *testing.T) {
		var base string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/.well-known/oauth-authorization-server/t1" {
				http.NotFound(w, r)
				return
			}
			issuer := base + "/t1"
			if r.URL.Query().Get("x") != "" {
				issuer = "https://evil.example"
			}
			w.Write([]byte(`{"issuer":"` + issuer + `","token_endpoint":"` + base + `/t1/token","authorization_endpoint":"http://remote.example/auth"}`))
		}))
		defer srv.Close()
		base = srv.URL
		_, err := (&refresh.Client{}).Discover(context.Background(), base+"/t1")
		if err == nil || !strings.Contains(err.Error(), "authorization_endpoint") {
			t.Fatalf("got %v, want the http:// authorization endpoint refused", err)
		}
	})
	t.Run("explicit endpoints win", func(t *testing.T) {
		p := oidcprovider.Start(t, oidcprovider.Options{})
		c := &credentials.Credentials{Issuer: p.Issuer, RevocationURL: "https://elsewhere.example/revoke"}
		ep, err := (&refresh.Client{}).ResolveEndpoints(context.Background(), c)
		if err != nil || ep.Revocation != c.RevocationURL || ep.Token == "" {
			t.Fatalf("got %+v, %v", ep, err)
		}
	})
}

// Security of the loopback listener: wrong state, a second callback, another
// path, a replayed code, the address it binds.
func TestLoginListenerSecurity(t *testing.T) {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	ep, err := (&refresh.Client{}).Discover(context.Background(), p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	get := func(u string) int {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(u)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var mu sync.Mutex
	var notes []string
	var callback string
	cfg := refresh.LoginConfig{Endpoints: *ep, ClientID: p.ClientID, Scope: "openid offline_access", Wait: 30 * time.Second,
		Notify: func(msg string) { mu.Lock(); notes = append(notes, msg); mu.Unlock() },
		Open: func(authURL string) error {
			go func() {
				au, _ := url.Parse(authURL)
				cb, _ := url.Parse(au.Query().Get("redirect_uri"))
				if cb.Hostname() != "127.0.0.1" {
					t.Errorf("redirect_uri %s is not on 127.0.0.1", cb)
				}
				for _, ip := range nonLoopbackIPs() { // not reachable from outside loopback
					if st := get("http://" + net.JoinHostPort(ip, cb.Port()) + cb.Path); st != 0 {
						t.Errorf("the listener answered %d on %s", st, ip)
					}
				}
				state := url.QueryEscape(au.Query().Get("state"))
				if st := get(cb.Scheme + "://" + cb.Host + "/other?code=x&state=" + state); st != http.StatusNotFound {
					t.Errorf("callback on another path: %d, want 404", st)
				}
				if st := get(cb.String() + "?code=x&state=wrong"); st != http.StatusBadRequest {
					t.Errorf("wrong state: %d, want 400", st)
				}
				u, err := oidcprovider.BrowseTo(authURL, p.Username, oidcprovider.Password, "allow", cb.Host)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				callback = u
				mu.Unlock()
				if st := get(u); st != http.StatusOK {
					t.Errorf("the real callback: %d, want 200", st)
				}
			}()
			return nil
		},
		BeforeExchange: func(context.Context) error {
			mu.Lock()
			u := callback
			mu.Unlock()
			if st := get(u); st != http.StatusBadRequest { // the listener is still up here
				t.Errorf("a second callback: %d, want 400", st)
			}
			return nil
		}}
	tok, err := (&refresh.Client{}).AuthorizationCode(context.Background(), cfg)
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("login after the refused callbacks: %+v, %v", tok, err)
	}
	if n := p.CodeUses(); n != 1 {
		t.Errorf("the code was redeemed %d times, want 1", n)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "wrong state") {
		t.Errorf("the wrong state was not reported: %q", notes)
	}
	// The code, replayed at the token endpoint, is refused by the provider.
	cu, _ := url.Parse(callback)
	_, err = (&refresh.Client{}).Exchange(context.Background(), refresh.Request{URL: ep.Token, ClientID: p.ClientID,
		Form: url.Values{"grant_type": {"authorization_code"}, "code": {cu.Query().Get("code")}, "redirect_uri": {cu.Scheme + "://" + cu.Host + cu.Path}}})
	var ee *refresh.EndpointError
	if !errors.As(err, &ee) || ee.Code != "invalid_grant" {
		t.Errorf("replayed code: %v, want invalid_grant", err)
	}
}

// A login that nobody finishes ends, saves nothing, and says it timed out.
func TestLoginTimeout(t *testing.T) {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	m := loginManager(t, p, credentials.GrantAuthorizationCode)
	_, err := m.Login(context.Background(), refresh.LoginOptions{Wait: 200 * time.Millisecond})
	var le *refresh.LoginError
	if !errors.As(err, &le) || refresh.KindOf(err) != refresh.KindTemporary || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("got %v, want a timed-out login (temporary)", err)
	}
	if tok, _ := m.Load(); tok != nil {
		t.Error("a timed-out login saved a token")
	}
}

func nonLoopbackIPs() []string {
	var out []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			out = append(out, n.IP.String())
		}
	}
	return out
}

// A provider without a revocation endpoint (GitHub, Entra): logout forgets the
// token and says the grant is still live; later runs need a login.
func TestLogoutWithoutRevocation(t *testing.T) {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	ep, err := (&refresh.Client{}).Discover(context.Background(), p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	m := loginManager(t, p, credentials.GrantAuthorizationCode)
	m.Creds.Issuer, m.Creds.TokenURL, m.Creds.AuthURL = "", ep.Token, ep.Authorization
	var lines []string
	r, err := m.Login(context.Background(), browser(t, p, "allow", &lines))
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Logout(context.Background())
	if err != nil || res.Revoked || res.Forgotten == "" || res.MovedTo != "" || res.RevocationURL != "" {
		t.Fatalf("Logout: %+v, %v; want forgotten, not revoked", res, err)
	}
	if !p.RefreshTokenLive(r.Token.RefreshToken) {
		t.Error("the grant should still be live at the provider")
	}
	if _, err := m.Ensure(context.Background(), refresh.Options{}); refresh.KindOf(err) != refresh.KindNeedsHuman {
		t.Fatalf("after logout: %v, want a login needed", err)
	}
}

// watch waits for a login: a Watcher on a profile nobody has logged in to
// does not retry, and renews from the token file once login writes it.
func TestWatchWaitsForLogin(t *testing.T) {
	p := oidcprovider.Start(t, oidcprovider.Options{})
	m := loginManager(t, p, credentials.GrantAuthorizationCode)
	creds := m.Creds
	m.Creds, m.LoadCredentials = nil, func() (*credentials.Credentials, error) { return creds, nil }
	events := make(chan refresh.WatchEvent, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &refresh.Watcher{Manager: m, Notify: func(e refresh.WatchEvent) { events <- e }}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	first := <-events
	if first.Err == nil || refresh.KindOf(first.Err) != refresh.KindNeedsHuman {
		t.Fatalf("first event %+v, want a login needed", first)
	}
	// Another process logs in (same files, another Manager).
	other := loginManager(t, p, credentials.GrantAuthorizationCode)
	other.Creds, other.Paths = creds, m.Paths
	var lines []string
	if _, err := other.Login(context.Background(), browser(t, p, "allow", &lines)); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(20 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Err == nil && e.Result != nil && e.Result.Token.AccessToken != "" {
				cancel()
				<-done
				return
			}
		case <-timeout:
			t.Fatal("the watcher did not pick up the login")
		}
	}
}

// unreadableStore is the file store whose record, read under the lock, cannot
// be read: a shared store whose members stopped answering, say.
type unreadableStore struct{ storage.Store }

func (s unreadableStore) Lock(ctx context.Context, timeout time.Duration, holder string) (storage.Locked, error) {
	l, err := s.Store.Lock(ctx, timeout, holder)
	if err != nil {
		return nil, err
	}
	return unreadableLocked{l}, nil
}

type unreadableLocked struct{ storage.Locked }

func (unreadableLocked) Read(context.Context) ([]byte, error) {
	return nil, fmt.Errorf("etcd: get /tokenkeeper/default/token: no member answered: %w", storage.ErrUnavailable)
}

// A token record that cannot be read fails logout as it fails token (one
// owner: Decide's unreadableRecord), not with a message of its own.
func TestLogoutUnreadableRecordAsToken(t *testing.T) {
	dir := testfs.TempDir(t)
	c := &credentials.Credentials{TokenURL: "http://127.0.0.1:1/token", GrantType: credentials.GrantPassword, AppID: "app",
		ClientSecret: "fake-secret", CompanyUUID: "uuid", CompanyRequestToken: "fake-crt", Path: filepath.Join(dir, "credentials.json")}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	paths := storage.Paths{CredentialsFile: c.Path, TokenFile: filepath.Join(dir, "token.json"), LockFile: filepath.Join(dir, "token.json.lock")}
	m := &refresh.Manager{Creds: c, Paths: paths, Store: unreadableStore{storage.OpenFileStore(paths, nil)}}
	_, terr := m.Ensure(context.Background(), refresh.Options{})
	_, lerr := m.Logout(context.Background())
	if terr == nil || lerr == nil {
		t.Fatalf("Ensure: %v; Logout: %v; want both to fail", terr, lerr)
	}
	if refresh.KindOf(lerr) != refresh.KindOf(terr) || refresh.HintOf(lerr) != refresh.HintOf(terr) || refresh.NextOf(lerr) != refresh.NextOf(terr) {
		t.Errorf("Logout: %v (kind %v, hint %q, then %v); want what Ensure says: kind %v, hint %q, then %v",
			lerr, refresh.KindOf(lerr), refresh.HintOf(lerr), refresh.NextOf(lerr), refresh.KindOf(terr), refresh.HintOf(terr), refresh.NextOf(terr))
	}
}
