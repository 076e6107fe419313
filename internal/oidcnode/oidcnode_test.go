package oidcnode

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// The helper's own check: a code grant with PKCE through Browse, then one
// refresh, counted.
func TestBrowse(t *testing.T) {
	p := Start(t)
	codes := make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		codes <- r.URL.Query()
		w.Write([]byte("ok"))
	}))
	defer cb.Close()
	redirect := cb.URL + "/callback"
	verifier := "a-verifier-of-at-least-forty-three-characters-long"
	sum := sha256.Sum256([]byte(verifier))
	auth := p.Issuer + "/auth?" + url.Values{"client_id": {PublicClient}, "response_type": {"code"},
		"scope": {"openid offline_access"}, "prompt": {"consent"}, "redirect_uri": {redirect}, "state": {"s"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
	st, body, err := Browse(auth, Username, Password, "allow")
	if err != nil || st != http.StatusOK || body != "ok" {
		t.Fatalf("browse: %d %q %v", st, body, err)
	}
	q := <-codes
	if q.Get("code") == "" || q.Get("iss") != p.Issuer {
		t.Fatalf("callback %v", q)
	}
	ans := post(t, p.Issuer+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
		"redirect_uri": {redirect}, "client_id": {PublicClient}, "code_verifier": {verifier}})
	rt, _ := ans["refresh_token"].(string)
	if rt == "" {
		t.Fatalf("no refresh token: %v", ans)
	}
	if !p.RefreshTokenLive(rt) {
		t.Error("the refresh token is not live")
	}
	post(t, p.Issuer+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {PublicClient}})
	if got := p.RefreshUses()[rt]; got != 1 {
		t.Errorf("refresh token presented %d times, want 1", got)
	}
	if p.RefreshTokenLive(rt) {
		t.Error("the rotated refresh token is still live")
	}
}

func post(t *testing.T, u string, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %v", u, resp.StatusCode, m)
	}
	return m
}
