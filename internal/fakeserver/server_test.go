package fakeserver_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeclock"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

const (
	clientID     = "fake-client-id"
	clientSecret = "fake-client-secret"
	companyUUID  = "fake-company-uuid"
	requestToken = "fake-request-token"
)

var epoch = time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)

// newServer starts a server with the test's credentials and a fake clock.
func newServer(t *testing.T, o fakeserver.Options) (*fakeserver.Server, *fakeclock.Clock) {
	t.Helper()
	c := fakeclock.New(epoch)
	o.ClientID, o.ClientSecret = clientID, clientSecret
	o.CompanyUUID, o.RequestToken = companyUUID, requestToken
	o.Now = c.Now
	s := fakeserver.New(o)
	t.Cleanup(s.Close)
	return s, c
}

func passwordForm() url.Values {
	return url.Values{
		"grant_type": {"password"}, "client_id": {clientID}, "client_secret": {clientSecret},
		"username": {companyUUID}, "password": {requestToken}, "credtype": {"authtoken"},
	}
}

func refreshForm(rt string) url.Values {
	return url.Values{
		"grant_type": {"refresh_token"}, "client_id": {clientID}, "client_secret": {clientSecret},
		"refresh_token": {rt},
	}
}

type response struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// post sends form to the token endpoint; edit may change the request.
func post(t *testing.T, s *fakeserver.Server, form url.Values, edit func(*http.Request)) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", s.TokenURL(), err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		t.Fatalf("body is not a JSON object (status %d): %v", res.StatusCode, err)
	}
	return r
}

// str returns a string field of the body, failing if it is absent.
func (r response) str(t *testing.T, key string) string {
	t.Helper()
	v, ok := r.body[key].(string)
	if !ok {
		t.Fatalf("%s = %#v (%T), want a string", key, r.body[key], r.body[key])
	}
	return v
}

func (r response) num(t *testing.T, key string) float64 {
	t.Helper()
	v, ok := r.body[key].(float64)
	if !ok {
		t.Fatalf("%s = %#v (%T), want a number", key, r.body[key], r.body[key])
	}
	return v
}

func TestPasswordGrantConcur(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	r := post(t, s, passwordForm(), nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200", r.status)
	}
	if got := r.str(t, "expires_in"); got != "3600" {
		t.Errorf("expires_in = %q, want \"3600\" (a string)", got)
	}
	if got, want := int64(r.num(t, "refresh_expires_in")), epoch.Add(fakeserver.DefaultRefreshTTL).Unix(); got != want {
		t.Errorf("refresh_expires_in = %d, want %d (absolute)", got, want)
	}
	if got := r.str(t, "geolocation"); got != s.URL() {
		t.Errorf("geolocation = %q, want %q", got, s.URL())
	}
	if got := r.str(t, "token_type"); got != "Bearer" {
		t.Errorf("token_type = %q, want Bearer", got)
	}
	for _, k := range []string{"scope", "id_token"} {
		r.str(t, k)
	}
	if at := r.str(t, "access_token"); !strings.HasPrefix(at, "at-") || !s.ValidAccessToken(at) {
		t.Error("access token: want an at-… token the server accepts")
	}
	if rt := r.str(t, "refresh_token"); !strings.HasPrefix(rt, "rt-") || !s.ValidRefreshToken(rt) {
		t.Error("refresh token: want an rt-… token the server accepts")
	}
	if r.header.Get("Concur-Correlationid") == "" {
		t.Error("no concur-correlationid header")
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := s.Count("password"); got != 1 {
		t.Errorf("Count(password) = %d, want 1", got)
	}
}

func TestPasswordGrantKeycloak(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{Style: fakeserver.StyleKeycloak, AccessTTL: 300 * time.Second, RefreshTTL: 1800 * time.Second})
	r := post(t, s, passwordForm(), nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200", r.status)
	}
	if got := r.num(t, "expires_in"); got != 300 {
		t.Errorf("expires_in = %v, want 300", got)
	}
	if got := r.num(t, "refresh_expires_in"); got != 1800 {
		t.Errorf("refresh_expires_in = %v, want 1800 (relative)", got)
	}
	if got := r.num(t, "not-before-policy"); got != 0 {
		t.Errorf("not-before-policy = %v, want 0", got)
	}
	r.str(t, "session_state")
	if _, ok := r.body["geolocation"]; ok {
		t.Error("keycloak body has a geolocation")
	}
}

func TestClientCredentialsGrant(t *testing.T) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	for _, style := range []string{fakeserver.StyleConcur, fakeserver.StyleKeycloak} {
		t.Run(style, func(t *testing.T) {
			s, _ := newServer(t, fakeserver.Options{Style: style})
			r := post(t, s, form, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d, want 200", r.status)
			}
			for _, k := range []string{"refresh_token", "id_token"} {
				if _, ok := r.body[k]; ok {
					t.Errorf("client_credentials answer has %s", k)
				}
			}
			if !s.ValidAccessToken(r.str(t, "access_token")) {
				t.Error("access token not accepted")
			}
			if style == fakeserver.StyleKeycloak && r.num(t, "refresh_expires_in") != 0 {
				t.Errorf("refresh_expires_in = %v, want 0", r.body["refresh_expires_in"])
			}
			if style == fakeserver.StyleConcur {
				if _, ok := r.body["refresh_expires_in"]; ok {
					t.Error("concur client_credentials answer has refresh_expires_in")
				}
			}
		})
	}
}

func TestRefreshGrant(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(map[bool]string{false: "same", true: "rotate"}[rotate], func(t *testing.T) {
			s, c := newServer(t, fakeserver.Options{Rotate: rotate})
			first := post(t, s, passwordForm(), nil)
			rt := first.str(t, "refresh_token")
			c.Add(time.Hour)
			second := post(t, s, refreshForm(rt), nil)
			if second.status != http.StatusOK {
				t.Fatalf("status %d, want 200", second.status)
			}
			newRT := second.str(t, "refresh_token")
			if got := newRT != rt; got != rotate {
				t.Errorf("new refresh token differs: %v, want %v", got, rotate)
			}
			if rotate == (second.num(t, "refresh_expires_in") == first.num(t, "refresh_expires_in")) {
				t.Errorf("refresh_expires_in %v then %v: want a new expiry only on rotation",
					first.body["refresh_expires_in"], second.body["refresh_expires_in"])
			}
			if second.str(t, "access_token") == first.str(t, "access_token") {
				t.Error("refresh returned the same access token")
			}
			again := post(t, s, refreshForm(rt), nil)
			wantStatus := map[bool]int{false: 200, true: 400}[rotate]
			if again.status != wantStatus {
				t.Errorf("reusing the old refresh token: status %d, want %d", again.status, wantStatus)
			}
			if rotate && again.num(t, "code") != 108 {
				t.Errorf("code = %v, want 108", again.body["code"])
			}
			if got := s.Count("refresh_token"); got != 2 {
				t.Errorf("Count(refresh_token) = %d, want 2", got)
			}
		})
	}
}

func TestKeycloakRefreshRelativeExpiry(t *testing.T) {
	s, c := newServer(t, fakeserver.Options{Style: fakeserver.StyleKeycloak, RefreshTTL: 1800 * time.Second})
	rt := post(t, s, passwordForm(), nil).str(t, "refresh_token")
	c.Add(600 * time.Second)
	r := post(t, s, refreshForm(rt), nil)
	if got := r.num(t, "refresh_expires_in"); got != 1200 {
		t.Errorf("refresh_expires_in = %v, want 1200 (what is left)", got)
	}
}

func TestNoRefreshExpiry(t *testing.T) {
	for _, style := range []string{fakeserver.StyleConcur, fakeserver.StyleKeycloak} {
		t.Run(style, func(t *testing.T) {
			s, c := newServer(t, fakeserver.Options{Style: style, RefreshTTL: fakeserver.NoRefreshExpiry})
			r := post(t, s, passwordForm(), nil)
			v, ok := r.body["refresh_expires_in"]
			if style == fakeserver.StyleConcur && ok {
				t.Errorf("refresh_expires_in = %v, want absent", v)
			}
			if style == fakeserver.StyleKeycloak && v != 0.0 {
				t.Errorf("refresh_expires_in = %v, want 0", v)
			}
			c.Add(10 * 365 * 24 * time.Hour)
			if !s.ValidRefreshToken(r.str(t, "refresh_token")) {
				t.Error("refresh token expired; want no expiry")
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	s, c := newServer(t, fakeserver.Options{AccessTTL: time.Minute, RefreshTTL: time.Hour})
	r := post(t, s, passwordForm(), nil)
	at, rt := r.str(t, "access_token"), r.str(t, "refresh_token")
	c.Add(time.Minute - time.Nanosecond)
	if !s.ValidAccessToken(at) {
		t.Error("access token invalid 1ns before expiry")
	}
	c.Add(time.Nanosecond)
	if s.ValidAccessToken(at) {
		t.Error("access token valid at expiry")
	}
	c.Add(time.Hour - time.Minute)
	if got := post(t, s, refreshForm(rt), nil); got.status != 400 || got.num(t, "code") != 108 {
		t.Errorf("refresh at expiry: status %d code %v, want 400 code 108", got.status, got.body["code"])
	}
}

func TestRevokeRefreshTokens(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	rt := post(t, s, passwordForm(), nil).str(t, "refresh_token")
	s.RevokeRefreshTokens()
	r := post(t, s, refreshForm(rt), nil)
	if r.status != 400 || r.str(t, "error") != "invalid_grant" || r.num(t, "code") != 108 {
		t.Errorf("got %d %s, want 400 invalid_grant code 108", r.status, r.raw)
	}
	rt2 := post(t, s, passwordForm(), nil).str(t, "refresh_token")
	if got := post(t, s, refreshForm(rt2), nil).status; got != 200 {
		t.Errorf("refresh token issued after revocation: status %d, want 200", got)
	}
}

func TestRevokeAccessTokensAndAPI(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	at := post(t, s, passwordForm(), nil).str(t, "access_token")
	call := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, s.APIURL(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := call(at); got != 200 {
		t.Errorf("API with a valid token: %d, want 200", got)
	}
	s.RevokeAccessTokens()
	if got := call(at); got != 401 {
		t.Errorf("API with a revoked token: %d, want 401", got)
	}
	if got := s.APICount(); got != 2 {
		t.Errorf("APICount = %d, want 2", got)
	}
}

func TestSetRequestToken(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	s.SetRequestToken("fake-new-request-token")
	r := post(t, s, passwordForm(), nil)
	if r.status != 400 || r.str(t, "error") != "invalid_grant" || r.num(t, "code") != 5 {
		t.Errorf("stale request token: got %d %s, want 400 invalid_grant code 5", r.status, r.body["error"])
	}
	form := passwordForm()
	form.Set("password", "fake-new-request-token")
	if got := post(t, s, form, nil).status; got != 200 {
		t.Errorf("new request token: status %d, want 200", got)
	}
}

func TestJWTAccessTokens(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{JWTAccessTokens: true, OmitExpiresIn: true, AccessTTL: 2 * time.Hour})
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}
	r := post(t, s, form, nil)
	if _, ok := r.body["expires_in"]; ok {
		t.Error("expires_in present, want it omitted")
	}
	at := r.str(t, "access_token")
	parts := strings.Split(at, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts, want 3", len(parts))
	}
	var claims struct{ Exp int64 }
	if err := json.Unmarshal(mustDecode(t, parts[1]), &claims); err != nil {
		t.Fatalf("payload: %v", err)
	}
	if want := epoch.Add(2 * time.Hour).Unix(); claims.Exp != want {
		t.Errorf("exp = %d, want %d", claims.Exp, want)
	}
	if !s.ValidAccessToken(at) {
		t.Error("JWT access token not accepted")
	}
}

func TestGeolocation(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	s.SetGeolocation("https://emea.api.concursolutions.com/")
	if got := post(t, s, passwordForm(), nil).str(t, "geolocation"); got != "https://emea.api.concursolutions.com" {
		t.Errorf("geolocation = %q, want the one set", got)
	}
	h := fakeserver.NewHandler(fakeserver.Options{ClientID: "a", ClientSecret: "b"})
	defer h.Close()
	if h.URL() != "" || h.TokenURL() != fakeserver.TokenPath {
		t.Errorf("handler URL %q TokenURL %q, want no base", h.URL(), h.TokenURL())
	}
}

func TestLastRequest(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	post(t, s, passwordForm(), nil)
	last := s.Last()
	if last.Authorization || last.BasicAuth {
		t.Error("Authorization recorded for a params request")
	}
	if got := s.LastForm().Get("credtype"); got != "authtoken" {
		t.Errorf("credtype = %q, want authtoken", got)
	}
	if last.ContentType != "application/x-www-form-urlencoded" || last.Path != fakeserver.TokenPath {
		t.Errorf("content type %q path %q", last.ContentType, last.Path)
	}
	last.Form.Set("credtype", "changed")
	if s.LastForm().Get("credtype") != "authtoken" {
		t.Error("LastForm shares its map with the server")
	}
}

func TestConcurrentRequests(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{Rotate: true})
	rt := post(t, s, passwordForm(), nil).str(t, "refresh_token")
	const n = 50
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.TokenURL(), strings.NewReader(refreshForm(rt).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for st := range statuses {
		if st == 200 {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent uses of a single-use refresh token succeeded, want 1", ok, n)
	}
	if got := s.Count(""); got != n+1 {
		t.Errorf("Count(\"\") = %d, want %d", got, n+1)
	}
}
