package refresh_test

import (
	"errors"
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeclock"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

const (
	testClientID     = "lib-app"
	testClientSecret = "lib-secret-71c2"
)

func newServer(t *testing.T, o fakeserver.Options) *fakeserver.Server {
	o.ClientID, o.ClientSecret = testClientID, testClientSecret
	o.CompanyUUID, o.RequestToken = "lib-company", "lib-request-token-5e1"
	srv := fakeserver.New(o)
	t.Cleanup(srv.Close)
	return srv
}

func testCreds(srv *fakeserver.Server) *credentials.Credentials {
	return refresh.FakeCreds(srv.TokenURL(), credentials.GrantPassword, "credentials.json",
		refresh.FakeIDs{ClientID: testClientID, ClientSecret: testClientSecret, CompanyUUID: "lib-company", RequestToken: "lib-request-token-5e1"})
}

// newManager is a Manager of a profile kept in dir; managers on the same dir
// stand for separate processes (each has its own lock file descriptor).
func newManager(t *testing.T, srv *fakeserver.Server, dir string, clock refresh.Clock) *refresh.Manager {
	t.Helper()
	p, err := storage.Resolve(storage.Options{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &refresh.Manager{Creds: testCreds(srv), Paths: p, Clock: clock,
		Client: &refresh.Client{Clock: clock}}
}

// TestTokenStampede: 100 goroutines, spread over 4 Managers of one profile (as if
// 4 processes), ask for a token that has expired: one refresh request, one token.
func TestTokenStampede(t *testing.T) {
	srv := newServer(t, fakeserver.Options{Rotate: true})
	dir := testfs.TempDir(t)
	clock := fakeclock.New(time.Now())
	var ms []*refresh.Manager
	for range 4 {
		ms = append(ms, newManager(t, srv, dir, clock))
	}
	first, err := ms[0].Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(2 * time.Hour) // past the fake's one-hour access tokens
	var wg sync.WaitGroup
	got := make([]string, 100)
	errs := make([]error, 100)
	for i := range 100 {
		wg.Go(func() {
			tok, err := ms[i%len(ms)].Token(t.Context())
			errs[i] = err
			if err == nil {
				got[i] = tok.AccessToken
			}
		})
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got[i] != got[0] || got[i] == first.AccessToken {
			t.Fatalf("caller %d got another token than caller 0, or the expired one", i)
		}
	}
	if n := srv.Count("refresh_token"); n != 1 {
		t.Errorf("token endpoint saw %d refresh requests, want 1", n)
	}
	if n := srv.Count("password"); n != 1 {
		t.Errorf("token endpoint saw %d password requests, want 1", n)
	}
}

func TestTokenSource(t *testing.T) {
	srv := newServer(t, fakeserver.Options{})
	m := newManager(t, srv, testfs.TempDir(t), nil)
	ot, err := m.TokenSource().Token()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if ot.AccessToken != tok.AccessToken || !ot.Expiry.Truncate(time.Second).Equal(tok.Expiry) || ot.Type() != "Bearer" {
		t.Errorf("oauth2 token differs from the stored one (type %q, expiry %v, want %v)", ot.Type(), ot.Expiry, tok.Expiry)
	}
	if ot.RefreshToken != "" {
		t.Error("the oauth2 token carries the refresh token; it must stay in the file")
	}
	if tok.RefreshToken == "" {
		t.Error("the stored token has no refresh token: the test proves nothing")
	}
	if got := ot.Extra("geolocation"); got != srv.URL() {
		t.Errorf("Extra(geolocation) = %v, want %s", got, srv.URL())
	}
	if !ot.Valid() {
		t.Error("oauth2 token not valid")
	}
}

// TestTransportRenewsOn401: the API refuses a revoked token; the client renews once
// and retries, also for 50 requests refused at once, and for replayable bodies.
func TestTransportRenewsOn401(t *testing.T) {
	srv := newServer(t, fakeserver.Options{Rotate: true})
	m := newManager(t, srv, testfs.TempDir(t), nil)
	c := m.HTTPClient()
	get := func() int {
		resp, err := c.Get(srv.APIURL())
		if err != nil {
			t.Error(err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != 200 {
		t.Fatalf("first request: %d, want 200", got)
	}
	srv.RevokeAccessTokens()
	if got := get(); got != 200 {
		t.Fatalf("after revocation: %d, want 200 (renewed and retried)", got)
	}
	if n, api := srv.Count("refresh_token"), srv.APICount(); n != 1 || api != 3 {
		t.Fatalf("after one 401: %d refresh requests and %d API requests, want 1 and 3", n, api)
	}

	srv.RevokeAccessTokens()
	var wg sync.WaitGroup
	codes := make([]int, 50)
	for i := range codes {
		wg.Go(func() { codes[i] = get() })
	}
	wg.Wait()
	for i, code := range codes {
		if code != 200 {
			t.Fatalf("request %d of 50: %d, want 200", i, code)
		}
	}
	if n := srv.Count("refresh_token"); n != 2 {
		t.Errorf("50 requests refused at once made %d renewals, want 1", n-1)
	}
}

func TestTransportBodies(t *testing.T) {
	srv := newServer(t, fakeserver.Options{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !srv.ValidAccessToken(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.Copy(w, r.Body)
	}))
	t.Cleanup(api.Close)
	m := newManager(t, srv, testfs.TempDir(t), nil)
	c := m.HTTPClient()
	if _, err := m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}

	srv.RevokeAccessTokens()
	req, _ := http.NewRequest("POST", api.URL, strings.NewReader("payload")) // GetBody set
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "payload" {
		t.Errorf("replayable body: %d %q, want 200 \"payload\"", resp.StatusCode, body)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("the caller's request was modified")
	}

	srv.RevokeAccessTokens()
	before := srv.Count("refresh_token")
	req, _ = http.NewRequest("POST", api.URL, io.NopCloser(strings.NewReader("once"))) // no GetBody
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || srv.Count("refresh_token") != before {
		t.Errorf("body that cannot be replayed: %d and %d renewals, want the 401 as it is and none",
			resp.StatusCode, srv.Count("refresh_token")-before)
	}
}

// TestTransportRenewalFails: when the 401 cannot be cured (the grant is gone and
// the request token stale), the error says a human must act.
func TestTransportRenewalFails(t *testing.T) {
	srv := newServer(t, fakeserver.Options{})
	m := newManager(t, srv, testfs.TempDir(t), nil)
	if _, err := m.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.RevokeAccessTokens()
	srv.RevokeRefreshTokens()
	srv.SetRequestToken("changed-by-the-admin")
	resp, err := m.HTTPClient().Get(srv.APIURL())
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want an error", resp.StatusCode)
	}
	if !errors.Is(err, refresh.ErrNeedsHuman) || refresh.KindOf(err) != refresh.KindNeedsHuman {
		t.Errorf("error %v: want one that says a human must re-authorise", err)
	}
	if strings.Contains(err.Error(), testClientSecret) {
		t.Error("the error contains the client secret")
	}
}
