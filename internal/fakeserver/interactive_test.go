package fakeserver_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// TestConsentPage: the page escapes what the request carries, answers only
// with the id it showed, once, and a denial goes back as access_denied.
func TestConsentPage(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{Consent: true})
	base := strings.TrimSuffix(s.TokenURL(), fakeserver.TokenPath)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"state": {"st"}, "code_challenge": {"challenge"}, "code_challenge_method": {"S256"},
		"scope": {`openid"><script>alert(1)</script>`}}
	res, err := c.Get(base + fakeserver.AuthorizePath + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.Contains(string(page), "<script>") || !strings.Contains(string(page), "&lt;script&gt;") {
		t.Fatalf("consent page %d, the scope not escaped:\n%s", res.StatusCode, page)
	}
	if res.Header.Get("X-Frame-Options") != "DENY" {
		t.Error("the consent page may be framed")
	}
	id := regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(string(page))
	if id == nil {
		t.Fatalf("no request id in:\n%s", page)
	}
	answer := func(id, decision string) (int, *url.URL) {
		res, err := c.PostForm(base+fakeserver.AuthorizePath, url.Values{"request": {id}, "decision": {decision}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := res.Location()
		return res.StatusCode, loc
	}
	if st, loc := answer("consent-1-guessed", "approve"); st != http.StatusBadRequest || loc != nil {
		t.Errorf("a made-up request id: %d %v, want 400 and no redirect", st, loc)
	}
	st, loc := answer(id[1], "deny")
	if st != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st" || loc.Query().Get("code") != "" {
		t.Fatalf("deny: %d %v", st, loc)
	}
	if st, _ := answer(id[1], "approve"); st != http.StatusBadRequest {
		t.Errorf("a request answered twice: %d, want 400", st)
	}
}

// TestDeviceGrant: pending until the page approves the user code; the code
// is redeemed once; a denied one ends in access_denied.
func TestDeviceGrant(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{Rotate: true})
	base := strings.TrimSuffix(s.TokenURL(), fakeserver.TokenPath)
	start := func() (device, user string) {
		r := post(t, s, url.Values{"client_id": {clientID}, "client_secret": {clientSecret}},
			func(r *http.Request) { r.URL, _ = url.Parse(base + fakeserver.DeviceAuthPath) })
		if r.status != http.StatusOK || r.str(t, "verification_uri") != base+fakeserver.DeviceVerifyPath {
			t.Fatalf("device authorization: %d %s", r.status, r.raw)
		}
		return r.str(t, "device_code"), r.str(t, "user_code")
	}
	poll := func(device string) response {
		return post(t, s, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {device},
			"client_id": {clientID}, "client_secret": {clientSecret}}, nil)
	}
	decide := func(user, decision string) int {
		res, err := http.PostForm(base+fakeserver.DeviceVerifyPath, url.Values{"user_code": {user}, "decision": {decision}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	device, user := start()
	if r := poll(device); r.str(t, "error") != "authorization_pending" {
		t.Fatalf("before approval: %d %s", r.status, r.raw)
	}
	if st := decide("BCDF-GHJK", "approve"); st != http.StatusBadRequest {
		t.Errorf("a wrong user code: %d, want 400", st)
	}
	if st := decide(user, "approve"); st != http.StatusOK {
		t.Fatalf("approve: %d", st)
	}
	if r := poll(device); r.status != http.StatusOK || r.str(t, "refresh_token") == "" {
		t.Fatalf("after approval: %d %s", r.status, r.raw)
	}
	if r := poll(device); r.str(t, "error") != "invalid_grant" {
		t.Errorf("a device code redeemed twice: %d %s", r.status, r.raw)
	}
	device, user = start()
	decide(user, "deny")
	if r := poll(device); r.str(t, "error") != "access_denied" {
		t.Errorf("denied: %d %s", r.status, r.raw)
	}
}
