package fakeserver_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// authorize asks the authorization endpoint for a code and returns where it
// redirected, without following.
func authorize(t *testing.T, s *fakeserver.Server, q url.Values) (int, *url.URL) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(strings.TrimSuffix(s.TokenURL(), fakeserver.TokenPath) + fakeserver.AuthorizePath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := res.Location()
	return res.StatusCode, loc
}

func TestAuthorizationCode(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{Style: fakeserver.StyleDex, Rotate: true})
	verifier := "a-verifier-of-enough-length-for-pkce-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/callback"},
		"state": {"st"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	codeForm := func(code, verifier string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "client_secret": {clientSecret},
			"code": {code}, "redirect_uri": {"http://127.0.0.1:9/callback"}, "code_verifier": {verifier}}
	}
	grant := func() string {
		t.Helper()
		st, loc := authorize(t, s, q)
		if st != http.StatusFound || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
			t.Fatalf("authorize: %d %v", st, loc)
		}
		code := loc.Query().Get("code")
		if r := post(t, s, codeForm(code, "a-wrong-verifier"), nil); r.status != http.StatusBadRequest {
			t.Fatalf("a wrong verifier: %d, want 400", r.status)
		}
		// The code was spent by the refused attempt: one use only.
		if r := post(t, s, codeForm(code, verifier), nil); r.status != http.StatusBadRequest {
			t.Fatalf("a code used twice: %d, want 400", r.status)
		}
		st, loc = authorize(t, s, q)
		if st != http.StatusFound {
			t.Fatalf("authorize: %d", st)
		}
		r := post(t, s, codeForm(loc.Query().Get("code"), verifier), nil)
		if r.status != http.StatusOK {
			t.Fatalf("code grant: %d %s", r.status, r.raw)
		}
		return r.str(t, "refresh_token")
	}
	first := grant()
	second := grant()
	// Dex keeps one refresh token per user and client: the second grant ended the first.
	if r := post(t, s, refreshForm(first), nil); r.status != http.StatusBadRequest || r.str(t, "error") != "invalid_request" ||
		r.str(t, "error_description") != "Refresh token is invalid or has already been claimed by another client." {
		t.Fatalf("the first grant's refresh token: %d %s", r.status, r.raw)
	}
	if r := post(t, s, refreshForm(second), nil); r.status != http.StatusOK {
		t.Fatalf("the second grant's refresh token: %d %s", r.status, r.raw)
	}

	// Another redirect than a loopback one is refused, never followed; another
	// client is sent back an error.
	bad := url.Values{}
	for k, v := range q {
		bad[k] = v
	}
	bad.Set("redirect_uri", "https://attacker.example/cb")
	if st, loc := authorize(t, s, bad); st != http.StatusBadRequest || loc != nil {
		t.Errorf("a non-loopback redirect: %d %v, want 400 and no redirect", st, loc)
	}
	bad.Set("redirect_uri", "http://127.0.0.1:9/callback")
	bad.Set("client_id", "someone-else")
	if st, loc := authorize(t, s, bad); st != http.StatusFound || loc.Query().Get("error") != "unauthorized_client" || loc.Query().Get("code") != "" {
		t.Errorf("another client: %d %v, want an error redirect", st, loc)
	}
}
