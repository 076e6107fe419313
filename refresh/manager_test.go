package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeclock"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// env is one profile in a temporary directory, served by a fake endpoint.
type env struct {
	fs     *fakeserver.Server
	clock  *fakeclock.Clock
	paths  storage.Paths
	creds  *credentials.Credentials
	m      *Manager
	sleeps *sleeps
}

// newEnv makes a Concur-style profile (password grant, params); edit may change
// the credentials before the manager is built.
func newEnv(t *testing.T, o fakeserver.Options, edit func(*credentials.Credentials)) *env {
	t.Helper()
	e := &env{clock: fakeclock.New(start), sleeps: &sleeps{limit: 3}}
	o.Now = e.clock.Now
	e.fs = newFake(t, o)
	paths, err := storage.Resolve(storage.Options{Dir: tempDir(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.paths = paths
	e.creds = FakeCreds(e.fs.TokenURL(), credentials.GrantPassword, paths.CredentialsFile, testIDs)
	if edit != nil {
		edit(e.creds)
	}
	e.m = testManager(e.creds, paths, e.clock,
		&Client{Clock: e.clock, Sleep: e.sleeps.sleep, Timeout: 10 * time.Second, RequestTimeout: 2 * time.Second})
	e.m.LockTimeout = 10 * time.Second
	return e
}

func (e *env) ensure(t *testing.T, o Options) (*Result, error) {
	t.Helper()
	r, err := e.m.Ensure(t.Context(), o)
	e.assertClean(t, r, err)
	return r, err
}

// mustEnsure runs the lifecycle and wants action.
func (e *env) mustEnsure(t *testing.T, o Options, action string) *Result {
	t.Helper()
	r, err := e.ensure(t, o)
	if err != nil {
		t.Fatalf("Ensure: %v (hint: %s)", err, HintOf(err))
	}
	if r.Action != action {
		t.Fatalf("Action = %q, want %q", r.Action, action)
	}
	if !r.Token.Valid(e.clock.Now(), 0) {
		t.Error("returned token not valid")
	}
	return r
}

// assertClean checks that no error text, hint or warning holds a secret: the
// credentials' or any token issued so far (those in the file and the result).
func (e *env) assertClean(t *testing.T, r *Result, err error) {
	t.Helper()
	secrets := []string{}
	if r != nil && r.Token != nil {
		secrets = append(secrets, r.Token.AccessToken, r.Token.RefreshToken)
	}
	if tok, _ := e.m.Load(); tok != nil {
		secrets = append(secrets, tok.AccessToken, tok.RefreshToken)
	}
	if err != nil {
		assertNoSecrets(t, "error", err.Error(), secrets...)
		assertNoSecrets(t, "hint", HintOf(err), secrets...)
	}
	if r != nil {
		for _, w := range r.Warnings {
			assertNoSecrets(t, "warning", w, secrets...)
		}
	}
}

func (e *env) stored(t *testing.T) *Token {
	t.Helper()
	tok, err := e.m.Load()
	if err != nil || tok == nil {
		t.Fatalf("token file: %v (missing: %v)", err, tok == nil)
	}
	return tok
}

func (e *env) counts() (password, refresh int) {
	return e.fs.Count("password"), e.fs.Count("refresh_token")
}

func (e *env) wantCounts(t *testing.T, password, refresh int) {
	t.Helper()
	if p, r := e.counts(); p != password || r != refresh {
		t.Errorf("requests: %d password, %d refresh_token; want %d, %d", p, r, password, refresh)
	}
}

func hasWarning(r *Result, sub ...string) bool {
	if r == nil {
		return false
	}
	for _, w := range r.Warnings {
		all := true
		for _, s := range sub {
			all = all && strings.Contains(w, s)
		}
		if all {
			return true
		}
	}
	return false
}

func TestManagerBootstrapOnNoFile(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 1, 0)
	form := e.fs.LastForm()
	for k, want := range map[string]string{"grant_type": "password", "username": testCompanyUUID, "credtype": "authtoken", "client_id": testClientID} {
		if got := form.Get(k); got != want {
			t.Errorf("form %s = %q, want %q", k, got, want)
		}
	}
	if form.Get("password") != testRequestToken || form.Get("client_secret") != testClientSecret {
		t.Error("password grant did not send the request token and client secret in the form")
	}
	tok := e.stored(t)
	if tok.AccessToken != r.Token.AccessToken || tok.RefreshToken == "" {
		t.Error("stored token differs from the returned one")
	}
	if tok.TokenURL != e.fs.TokenURL() || tok.CompanyUUID != testCompanyUUID {
		t.Errorf("token_url, companyUUID = %q, %q; want %q, %q", tok.TokenURL, tok.CompanyUUID, e.fs.TokenURL(), testCompanyUUID)
	}
	if !tok.ObtainedAt.Equal(start) || !tok.Expiry.Equal(start.Add(time.Hour)) {
		t.Errorf("obtained_at, expires_at = %v, %v; want %v, %v (the fake clock)", tok.ObtainedAt, tok.Expiry, start, start.Add(time.Hour))
	}
	fi, err := os.Stat(e.paths.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if modeBitsTell && fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestManagerValidTokenNoRequest(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	first := e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.clock.Add(58 * time.Minute) // 2 minutes left, margin 1 minute
	r := e.mustEnsure(t, Options{}, ActionValid)
	if r.Token.AccessToken != first.Token.AccessToken {
		t.Error("a different access token was handed out")
	}
	if n := e.fs.Count(""); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestManagerValidTokenNeedsNoCredentials(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	m := &Manager{Paths: e.paths, Clock: e.clock, Client: e.m.Client,
		LoadCredentials: func() (*credentials.Credentials, error) {
			t.Error("credentials loaded for a valid token")
			return e.creds, nil
		}}
	if _, err := m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestManagerRefreshRotation(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	first := e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.clock.Add(59*time.Minute + 1*time.Second) // inside the margin
	r := e.mustEnsure(t, Options{}, ActionRefreshed)
	e.wantCounts(t, 1, 1)
	tok := e.stored(t)
	if tok.RefreshToken == first.Token.RefreshToken {
		t.Error("rotated refresh token not stored")
	}
	if tok.RefreshToken != r.Token.RefreshToken || tok.AccessToken != r.Token.AccessToken {
		t.Error("stored token differs from the returned one")
	}
	if !e.fs.ValidRefreshToken(tok.RefreshToken) || e.fs.ValidRefreshToken(first.Token.RefreshToken) {
		t.Error("the stored refresh token is not the live one")
	}
	if want := e.clock.Now().Add(180 * 24 * time.Hour); !tok.RefreshExpiry.Equal(want) {
		t.Errorf("RefreshExpiry = %v, want %v (the new one)", tok.RefreshExpiry, want)
	}
	if tok.TokenURL != e.fs.TokenURL() || tok.CompanyUUID != testCompanyUUID {
		t.Error("token_url or companyUUID lost in the refresh")
	}
	if form := e.fs.LastForm(); form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != first.Token.RefreshToken {
		t.Error("refresh grant did not send the stored refresh token")
	}
}

func TestManagerRefreshWithoutRotationKeepsExpiry(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Style: fakeserver.StyleKeycloak}, nil)
	first := e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.clock.Add(2 * time.Hour)
	e.mustEnsure(t, Options{}, ActionRefreshed)
	tok := e.stored(t)
	if tok.RefreshToken != first.Token.RefreshToken {
		t.Error("refresh token changed without rotation")
	}
	if !tok.RefreshExpiry.Equal(first.Token.RefreshExpiry) {
		t.Errorf("RefreshExpiry = %v, want the original %v", tok.RefreshExpiry, first.Token.RefreshExpiry)
	}
}

func TestManagerRevokedRefreshBootstraps(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.fs.RevokeRefreshTokens()
	e.clock.Add(2 * time.Hour)
	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 2, 1)
	if !hasWarning(r, "refused", "invalid_grant", e.creds.Path) {
		t.Errorf("warnings %q, want one saying the refresh token was refused", r.Warnings)
	}
	if !e.fs.ValidRefreshToken(e.stored(t).RefreshToken) {
		t.Error("the new grant's refresh token was not stored")
	}
}

func TestManagerBootstrapRefused(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.fs.SetRequestToken("fake-rotated-request-token")
	r, err := e.ensure(t, Options{})
	if KindOf(err) != KindNeedsHuman || !errors.Is(err, ErrNeedsHuman) {
		t.Fatalf("Ensure: %v (kind %v), want KindNeedsHuman", err, KindOf(err))
	}
	hint := HintOf(err)
	for _, want := range []string{"Company Request Token screen", e.creds.Path, "companyRequestToken"} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint %q does not contain %q", hint, want)
		}
	}
	if r != nil && r.Token != nil {
		t.Error("a token was returned with the error")
	}
	rec := e.stored(t)
	if rec.AccessToken != "" || rec.RefreshToken != "" || rec.Refusal == nil || rec.Refusal.Bootstrap == nil {
		t.Errorf("the record holds %+v; want the refusal remembered and no token from an error answer", rec)
	}
}

func TestManagerInvalidClient(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, func(c *credentials.Credentials) { c.ClientSecret = "fake-wrong-secret" })
	_, err := e.ensure(t, Options{})
	if KindOf(err) != KindCredentials || !errors.Is(err, ErrCredentials) {
		t.Fatalf("Ensure: %v (kind %v), want KindCredentials", err, KindOf(err))
	}
	hint := HintOf(err)
	for _, want := range []string{"appID", "clientSecret"} {
		if !strings.Contains(hint, want) {
			t.Errorf("hint %q does not name %s", hint, want)
		}
	}
	assertNoSecrets(t, "error", err.Error()+HintOf(err), "fake-wrong-secret")
}

// TestInvalidClientNamesCredentialsPath: an error that involves credentials.json
// names its resolved path (docs/contract.md §1: paths printed whole; cron runs with a different HOME), also for a
// refused client, where the Concur advice text says only "credentials.json".
func TestInvalidClientNamesCredentialsPath(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, func(c *credentials.Credentials) { c.ClientSecret = "fake-wrong-secret" })
	_, err := e.ensure(t, Options{})
	if err == nil {
		t.Fatal("Ensure succeeded, want an error")
	}
	if !strings.Contains(err.Error()+HintOf(err), e.creds.Path) {
		t.Errorf("error %q, hint %q: neither names %s", err, HintOf(err), e.creds.Path)
	}
}

func TestManagerTransientFailure(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration // after the bootstrap
		want    string        // action, or "" for KindTemporary
	}{
		{"access token still valid: kept with a warning", 59*time.Minute + 30*time.Second, ActionKept},
		{"access token expired: temporary failure", 61 * time.Minute, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{}, nil)
			first := e.mustEnsure(t, Options{}, ActionBootstrapped)
			e.clock.Add(tt.advance)
			for range 10 {
				e.fs.Fail(fakeserver.Fault{Status: 503})
			}
			r, err := e.ensure(t, Options{})
			if n := len(e.sleeps.got()); n != 3 {
				t.Errorf("%d retries, want 3 (the test's limit)", n)
			}
			if tt.want == "" {
				if KindOf(err) != KindTemporary || !errors.Is(err, ErrTemporary) {
					t.Fatalf("Ensure: %v (kind %v), want KindTemporary", err, KindOf(err))
				}
				if HintOf(err) == "" {
					t.Error("no hint")
				}
			} else {
				if err != nil {
					t.Fatalf("Ensure: %v", err)
				}
				if r.Action != tt.want || r.Token.AccessToken != first.Token.AccessToken {
					t.Errorf("Action = %q, same token %v; want %q with the stored token", r.Action, r.Token.AccessToken == first.Token.AccessToken, tt.want)
				}
				if !hasWarning(r, "could not renew", "503") {
					t.Errorf("warnings %q, want one saying the renewal failed", r.Warnings)
				}
			}
			if e.stored(t).AccessToken != first.Token.AccessToken {
				t.Error("the token file changed after a failed renewal")
			}
			e.wantCounts(t, 1, 4)
		})
	}
}

func TestManagerCorruptFileMovedAside(t *testing.T) {
	for _, name := range []string{"truncated.json", "empty.json", "not_json.txt"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{}, nil)
			data := fixture(t, "tokenfiles/"+name)
			if err := os.WriteFile(e.paths.TokenFile, data, 0o600); err != nil {
				t.Fatal(err)
			}
			r := e.mustEnsure(t, Options{}, ActionBootstrapped)
			moved, err := filepath.Glob(e.paths.TokenFile + ".corrupt-*")
			if err != nil || len(moved) != 1 {
				t.Fatalf("%d .corrupt-* files, want 1", len(moved))
			}
			if got, _ := os.ReadFile(moved[0]); string(got) != string(data) {
				t.Error("the moved file's content changed")
			}
			if !hasWarning(r, e.paths.TokenFile, moved[0]) {
				t.Errorf("warnings %q, want one naming %s and %s", r.Warnings, e.paths.TokenFile, moved[0])
			}
			for _, w := range r.Warnings {
				assertNoSecrets(t, "warning", w, "fake-refresh-not-json", "fake-refresh-future-0001", "fake-access-future-0001")
			}
			e.wantCounts(t, 1, 0)
			e.stored(t)
		})
	}
}

// futureFile is future_version.json moved to the fake endpoint.
func (e *env) futureFile(t *testing.T) []byte {
	data := strings.ReplaceAll(string(fixture(t, "tokenfiles/future_version.json")), "https://us.api.concursolutions.com", e.fs.URL())
	return []byte(data)
}

// TestManagerKeepsUnknownFields: a file from a later version, replaced by a new
// grant, keeps the fields this version does not know.
func TestManagerKeepsUnknownFields(t *testing.T) {
	tests := []struct {
		name   string
		action string
		file   func(e *env) []byte
	}{
		{"refresh refused, new grant", ActionBootstrapped, func(e *env) []byte { return e.futureFile(t) }},
		{"refresh", ActionRefreshed, func(e *env) []byte {
			// the fixture with a refresh token the fake knows
			first := e.mustEnsure(t, Options{}, ActionBootstrapped)
			return []byte(strings.ReplaceAll(string(e.futureFile(t)), "fake-refresh-future-0001", first.Token.RefreshToken))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{}, nil)
			if err := os.WriteFile(e.paths.TokenFile, tt.file(e), 0o600); err != nil {
				t.Fatal(err)
			}
			e.clock.Add(2 * time.Hour) // the fixture's access token has expired
			e.mustEnsure(t, Options{}, tt.action)
			assertUnknownKept(t, e.stored(t))
		})
	}
}

func assertUnknownKept(t *testing.T, tok *Token) {
	t.Helper()
	for _, k := range []string{"x_future", "x_future_list"} {
		if _, ok := tok.Raw(k); !ok {
			t.Errorf("%s lost", k)
		}
	}
}

// TestManagerKeepsUnknownFieldsWhenTokenURLChanged: the fixture as a later version
// wrote it, for another token URL than the configured one. The grant is dropped
// (rightly), but the unknown fields go with it: locked() sets tok = nil before
// bootstrap, so carryUnknown gets nothing (docs/contract.md §1: unknown fields are kept).
func TestManagerKeepsUnknownFieldsWhenTokenURLChanged(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	if err := os.WriteFile(e.paths.TokenFile, fixture(t, "tokenfiles/future_version.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	assertUnknownKept(t, e.stored(t))
}

// TestManagerTutorialFile: the Node sample's file loads; its access-token expiry
// is unknown, so its refresh token is tried, and on invalid_grant a new grant.
func TestManagerTutorialFile(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	data := strings.ReplaceAll(string(fixture(t, "tokenfiles/tutorial_node.json")), "https://us.api.concursolutions.com", e.fs.URL())
	if err := os.WriteFile(e.paths.TokenFile, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 1, 1)
	if got := e.stored(t).CompanyUUID; got != testCompanyUUID {
		t.Errorf("companyUUID = %q, want %q", got, testCompanyUUID)
	}
}

func TestManagerTokenURLChangedGetsNewGrant(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	other := newFake(t, fakeserver.Options{Now: e.clock.Now})
	e.creds.TokenURL = other.TokenURL()
	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	if other.Count("password") != 1 || !hasWarning(r, "not by the tokenURL") {
		t.Errorf("%d requests to the new endpoint, warnings %q; want 1 and a warning", other.Count("password"), r.Warnings)
	}
}

func TestManagerRefreshTokenGrant(t *testing.T) {
	// The seed is a refresh token the fake issued, as a human would paste it.
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	seedTok, err := e.m.Client.Exchange(t.Context(), passwordRequest(e.fs.TokenURL(), "params"))
	if err != nil {
		t.Fatal(err)
	}
	seed := seedTok.RefreshToken
	e.creds.GrantType = credentials.GrantRefreshToken
	e.creds.RefreshToken = seed
	e.creds.CompanyUUID, e.creds.CompanyRequestToken, e.creds.CredentialType = "", "", ""

	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 1, 1)
	if r.Token.SeedFingerprint != fingerprint(seed) || e.stored(t).SeedFingerprint != fingerprint(seed) {
		t.Error("seed fingerprint not recorded")
	}
	if form := e.fs.LastForm(); form.Get("grant_type") != "refresh_token" || form.Get("refresh_token") != seed {
		t.Error("bootstrap did not send the seed with grant_type=refresh_token")
	}

	t.Run("revoked: the spent seed is not sent again", func(t *testing.T) {
		e.fs.RevokeRefreshTokens()
		e.clock.Add(2 * time.Hour)
		_, err := e.ensure(t, Options{})
		if KindOf(err) != KindNeedsHuman {
			t.Fatalf("Ensure: %v (kind %v), want KindNeedsHuman", err, KindOf(err))
		}
		if !strings.Contains(HintOf(err), e.creds.Path) || !strings.Contains(HintOf(err), "refreshToken") {
			t.Errorf("hint %q, want it to name %s and refreshToken", HintOf(err), e.creds.Path)
		}
		e.wantCounts(t, 1, 2) // the stored refresh token, not the seed
	})
}

// writeToken stores tok as the profile's token file.
func (e *env) writeToken(t *testing.T, tok *Token) {
	t.Helper()
	data, err := tok.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.paths.TokenFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeFile stores fields as the profile's token file.
func (e *env) writeFile(t *testing.T, fields map[string]any) {
	t.Helper()
	data, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.paths.TokenFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestManagerSpentSeedNoRequest(t *testing.T) {
	tests := []struct {
		name   string
		stored func(seed string) *Token
	}{
		{"same fingerprint", func(seed string) *Token {
			return &Token{AccessToken: "fake-old-at", RefreshToken: "fake-old-rt", SeedFingerprint: fingerprint(seed)}
		}},
		{"the seed itself is the stored refresh token", func(seed string) *Token {
			return &Token{AccessToken: "fake-old-at", RefreshToken: seed}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const seed = "fake-seed-0001"
			e := newEnv(t, fakeserver.Options{}, func(c *credentials.Credentials) {
				c.GrantType, c.RefreshToken = credentials.GrantRefreshToken, seed
			})
			tok := tt.stored(seed)
			tok.ObtainedAt, tok.Expiry = start.Add(-48*time.Hour), start.Add(-47*time.Hour)
			tok.RefreshExpiry, tok.TokenURL = start.Add(-time.Hour), e.fs.TokenURL()
			e.writeToken(t, tok)
			_, err := e.ensure(t, Options{})
			if KindOf(err) != KindNeedsHuman {
				t.Fatalf("Ensure: %v (kind %v), want KindNeedsHuman", err, KindOf(err))
			}
			if n := e.fs.Count(""); n != 0 {
				t.Errorf("%d requests, want 0: the seed was spent and the refresh token expired", n)
			}
			if !strings.Contains(HintOf(err), e.creds.Path) {
				t.Errorf("hint %q does not name %s", HintOf(err), e.creds.Path)
			}
			assertNoSecrets(t, "error", err.Error()+HintOf(err), seed, "fake-old-rt")
		})
	}
}

func TestManagerAuthStyleAuto(t *testing.T) {
	e := newEnv(t, fakeserver.Options{AuthStyle: fakeserver.AuthHeader}, func(c *credentials.Credentials) {
		c.AuthStyle = credentials.AuthAuto
	})
	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 2, 0) // params refused, then header
	if r.Token.AuthStyle != credentials.AuthHeader || e.stored(t).AuthStyle != credentials.AuthHeader {
		t.Errorf("auth_style = %q, want %q recorded in the file", e.stored(t).AuthStyle, credentials.AuthHeader)
	}
	e.clock.Add(2 * time.Hour)
	e.mustEnsure(t, Options{}, ActionRefreshed)
	e.wantCounts(t, 2, 1) // the refresh token is sent once, with the style that worked
	last := e.fs.Last()
	if !last.BasicAuth || last.Form.Has("client_secret") {
		t.Errorf("refresh sent Basic %v, client_secret in the form %v; want true, false", last.BasicAuth, last.Form.Has("client_secret"))
	}
}

func TestManagerAuthStyleAutoParamsWorks(t *testing.T) {
	e := newEnv(t, fakeserver.Options{AuthStyle: fakeserver.AuthParams}, func(c *credentials.Credentials) {
		c.AuthStyle = credentials.AuthAuto
	})
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 1, 0)
	if got := e.stored(t).AuthStyle; got != credentials.AuthParams {
		t.Errorf("auth_style = %q, want %q", got, credentials.AuthParams)
	}
}

func TestManagerAuthStyleHeader(t *testing.T) {
	e := newEnv(t, fakeserver.Options{AuthStyle: fakeserver.AuthHeader}, func(c *credentials.Credentials) {
		c.AuthStyle = credentials.AuthHeader
	})
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 1, 0)
	if last := e.fs.Last(); !last.BasicAuth || last.Form.Has("client_secret") {
		t.Error("authStyle header did not use HTTP Basic only")
	}
}

// code16Server answers every request with Concur's code 16 and a geolocation.
func code16Server(t *testing.T, geo func() string) *recorder {
	t.Helper()
	r := &recorder{}
	r.Server = httptestServer(t, func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.got = append(r.got, received{path: req.URL.Path})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"invalid_request","error_description":"user lives elsewhere","code":16,"geolocation":"` + geo() + `"}`))
	})
	return r
}

func TestManagerProviderCode16(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	elsewhere := code16Server(t, e.fs.URL)
	e.creds.TokenURL = elsewhere.tokenURL()
	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	if n := len(elsewhere.requests()); n != 1 {
		t.Errorf("%d requests to the first endpoint, want 1", n)
	}
	e.wantCounts(t, 1, 0)
	if r.Token.Geolocation != e.fs.URL() {
		t.Errorf("Geolocation = %q, want %q", r.Token.Geolocation, e.fs.URL())
	}

	t.Run("refreshes go to the geolocation", func(t *testing.T) {
		e.clock.Add(2 * time.Hour)
		e.mustEnsure(t, Options{}, ActionRefreshed)
		e.wantCounts(t, 1, 1)
		if n := len(elsewhere.requests()); n != 1 {
			t.Errorf("%d requests to the configured endpoint, want still 1", n)
		}
		if p := e.fs.Last().Path; p != fakeserver.TokenPath {
			t.Errorf("refresh went to %s, want %s", p, fakeserver.TokenPath)
		}
	})
}

func TestManagerProviderCode16RetriedOnce(t *testing.T) {
	var a, b *recorder
	a = code16Server(t, func() string { return b.URL })
	b = code16Server(t, func() string { return a.URL })
	e := newEnv(t, fakeserver.Options{}, func(c *credentials.Credentials) { c.TokenURL = a.tokenURL() })
	_, err := e.ensure(t, Options{})
	if err == nil {
		t.Fatal("Ensure succeeded, want an error")
	}
	if na, nb := len(a.requests()), len(b.requests()); na != 1 || nb != 1 {
		t.Errorf("requests %d and %d, want 1 and 1: code 16 is retried once", na, nb)
	}
}

func TestManagerGeolocationRouting(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	geo := newRecorder(t, reply{status: 200, body: string(fixture(t, "responses/concur_refresh_rotated.json"))})
	e.writeFile(t, map[string]any{"access_token": "fake-old-at", "refresh_token": "fake-old-rt", "geolocation": geo.URL,
		"obtained_at": "2026-11-21T21:00:00Z", "expires_at": "2026-11-21T22:00:00Z", "token_url": e.fs.TokenURL()})
	r := e.mustEnsure(t, Options{}, ActionRefreshed)
	reqs := geo.requests()
	if len(reqs) != 1 || reqs[0].path != "/oauth2/v0/token" || reqs[0].form.Get("refresh_token") != "fake-old-rt" {
		t.Fatalf("%d requests at the geolocation, want 1 refresh at /oauth2/v0/token", len(reqs))
	}
	if n := e.fs.Count(""); n != 0 {
		t.Errorf("%d requests to tokenURL, want 0", n)
	}
	if r.Token.RefreshToken != "fake-refresh-concur-0003-rotated" || e.stored(t).TokenURL != e.fs.TokenURL() {
		t.Error("rotated token not stored, or token_url changed by the geolocation")
	}
}

func TestManagerGeolocationNotHTTPS(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	tok := e.stored(t)
	e.writeFile(t, map[string]any{"access_token": "fake-old-at", "refresh_token": tok.RefreshToken,
		"geolocation": "http://evil.example.com", "obtained_at": "2026-11-21T21:00:00Z", "expires_at": "2026-11-21T22:00:00Z",
		"token_url": e.fs.TokenURL()})
	r := e.mustEnsure(t, Options{}, ActionRefreshed)
	if !hasWarning(r, "ignoring geolocation", e.paths.TokenFile) {
		t.Errorf("warnings %q, want one about the geolocation", r.Warnings)
	}
	e.wantCounts(t, 1, 1)
}

// TestManagerCode16StoresGeolocation: after a code-16 retry, the geolocation of the
// error becomes the token's when the success body has none, so that refreshes go
// there. exchange sets Token.Geolocation, but MarshalFile writes geolocation only
// from the raw response, so the saved file loses it.
func TestManagerCode16StoresGeolocation(t *testing.T) {
	home := newRecorder(t, reply{status: 200, body: string(fixture(t, "responses/bakrypt_refresh.json"))})
	elsewhere := code16Server(t, func() string { return home.URL })
	e := newEnv(t, fakeserver.Options{}, func(c *credentials.Credentials) { c.TokenURL = elsewhere.tokenURL() })
	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	if r.Token.Geolocation != home.URL {
		t.Errorf("returned Geolocation = %q, want %q", r.Token.Geolocation, home.URL)
	}
	if got := e.stored(t).Geolocation; got != home.URL {
		t.Errorf("stored geolocation = %q, want %q", got, home.URL)
	}
}

// TestManagerWarnBefore: the refresh token's expiry is warned about once per
// renewal, and only when the token will really die: a fixed expiry (the refresh
// did not move it) within --warn-before, or an expiry before the access token's.
// A rotating refresh token renewed on each refresh is not dying.
func TestManagerWarnBefore(t *testing.T) {
	tests := []struct {
		name                    string
		opts                    fakeserver.Options
		warnBefore              time.Duration
		atBootstrap, afterRenew bool
	}{
		{"fixed expiry in 3 days, default 7 days", fakeserver.Options{RefreshTTL: 3 * 24 * time.Hour}, 0, false, true},
		{"fixed expiry in 180 days", fakeserver.Options{}, 0, false, false},
		{"fixed expiry in 3 days, warn 1 day", fakeserver.Options{RefreshTTL: 3 * 24 * time.Hour}, 24 * time.Hour, false, false},
		{"no expiry advertised", fakeserver.Options{RefreshTTL: fakeserver.NoRefreshExpiry}, 0, false, false},
		{"rotating 30 minutes (Keycloak)", fakeserver.Options{Style: fakeserver.StyleKeycloak, Rotate: true, RefreshTTL: 30 * time.Minute, AccessTTL: 5 * time.Minute}, 0, false, false},
		{"dies before the access token", fakeserver.Options{RefreshTTL: 30 * time.Minute}, 0, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts, nil)
			e.m.WarnBefore = tt.warnBefore
			r := e.mustEnsure(t, Options{}, ActionBootstrapped)
			if got := hasWarning(r, "the refresh token expires at", "Company Request Token screen", e.creds.Path); got != tt.atBootstrap {
				t.Errorf("at the bootstrap: warned %v (%q), want %v", got, r.Warnings, tt.atBootstrap)
			}
			if r = e.mustEnsure(t, Options{}, ActionValid); len(r.Warnings) != 0 {
				t.Errorf("a run that renews nothing warned %q; want once per renewal", r.Warnings)
			}
			e.clock.Add(r.Token.Expiry.Sub(e.clock.Now()) - time.Second)
			renewal := ActionRefreshed
			if tt.atBootstrap { // the refresh token is dead by now
				renewal = ActionBootstrapped
			}
			r = e.mustEnsure(t, Options{}, renewal)
			if got := hasWarning(r, "the refresh token expires at", "Company Request Token screen"); got != tt.afterRenew {
				t.Errorf("after a refresh: warned %v (%q), want %v", got, r.Warnings, tt.afterRenew)
			}
		})
	}
}

func TestManagerConcurrentOneRefresh(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.clock.Add(2 * time.Hour)
	const n = 100
	toks := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok, err := e.m.Token(context.Background())
			errs[i] = err
			if err == nil {
				toks[i] = tok.AccessToken
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if toks[i] != toks[0] {
			t.Fatalf("caller %d got another access token", i)
		}
	}
	e.wantCounts(t, 1, 1)
}

func TestManagerForce(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	first := e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.clock.Add(time.Second)
	r := e.mustEnsure(t, Options{Force: true}, ActionRefreshed)
	e.wantCounts(t, 1, 1)
	if r.Token.AccessToken == first.Token.AccessToken {
		t.Error("forced renewal returned the old access token")
	}
}

// scriptClock returns asked for its first reading and later for every other one:
// the caller was asked to renew before another caller's renewal at obtained.
type scriptClock struct {
	mu           sync.Mutex
	asked, later time.Time
	reads        int
}

func (c *scriptClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	if c.reads == 1 {
		return c.asked
	}
	return c.later
}

func TestManagerForceSkipsWhenRenewedSinceAsked(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.clock.Add(time.Second)
	e.mustEnsure(t, Options{}, ActionBootstrapped) // obtained at start+1s
	e.m.Clock = &scriptClock{asked: start, later: start.Add(2 * time.Second)}
	r, err := e.ensure(t, Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.Action != ActionValid {
		t.Errorf("Action = %q, want %q: the token was renewed after this call was made", r.Action, ActionValid)
	}
	e.wantCounts(t, 1, 0)
}

func TestManagerMinValid(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.clock.Add(20 * time.Minute) // 40 minutes left
	e.mustEnsure(t, Options{MinValid: 10 * time.Minute}, ActionValid)
	// Valid caps the margin at half the lifetime (30 minutes): 40 minutes left
	// is enough for any MinValid, so the token is not renewed.
	e.clock.Add(15 * time.Minute) // 25 minutes left
	e.mustEnsure(t, Options{MinValid: 29 * time.Minute}, ActionRefreshed)
}

func TestManagerLoadCredentialsError(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	want := &Error{Kind: KindCredentials, Msg: "credentials: " + e.creds.Path + ": incomplete"}
	m := &Manager{Paths: e.paths, Clock: e.clock, Client: e.m.Client,
		LoadCredentials: func() (*credentials.Credentials, error) { return nil, want }}
	_, err := m.Token(t.Context())
	if KindOf(err) != KindCredentials || !errors.Is(err, ErrCredentials) {
		t.Errorf("Token: %v (kind %v), want the loader's KindCredentials error", err, KindOf(err))
	}
}

func TestManagerNoCredentials(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	m := &Manager{Paths: e.paths, Clock: e.clock, Client: e.m.Client}
	if _, err := m.Token(t.Context()); KindOf(err) != KindCredentials {
		t.Errorf("Token: %v (kind %v), want KindCredentials", err, KindOf(err))
	}
}
