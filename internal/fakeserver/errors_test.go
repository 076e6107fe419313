package fakeserver_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeclock"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

func mustDecode(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatalf("base64url: %v", err)
	}
	return b
}

func with(form url.Values, kv ...string) url.Values {
	f := url.Values{}
	for k, v := range form {
		f[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Set(kv[i], kv[i+1])
		}
	}
	return f
}

func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

func TestRejections(t *testing.T) {
	pw := passwordForm()
	tests := []struct {
		name      string
		auth      string // Options.AuthStyle
		form      url.Values
		edit      func(*http.Request)
		status    int
		wantError string
		wantCode  float64 // 0: no code in the body
	}{
		{"wrong secret", "", with(pw, "client_secret", "nope"), nil, 401, "invalid_client", 59},
		{"wrong client id", "", with(pw, "client_id", "nope"), nil, 401, "invalid_client", 59},
		{"no client auth", "", with(pw, "client_id", "", "client_secret", ""), nil, 401, "invalid_client", 59},
		{"wrong basic secret", "", with(pw, "client_id", "", "client_secret", ""), basic(clientID, "nope"), 401, "invalid_client", 59},
		{"basic right, params wrong", "", with(pw, "client_secret", "nope"), basic(clientID, clientSecret), 401, "invalid_client", 59},
		{"header style, params sent", fakeserver.AuthHeader, pw, nil, 401, "invalid_client", 59},
		{"params style, basic sent", fakeserver.AuthParams, with(pw, "client_id", "", "client_secret", ""), basic(clientID, clientSecret), 401, "invalid_client", 59},
		{"wrong company uuid", "", with(pw, "username", "nope"), nil, 400, "invalid_grant", 5},
		{"wrong request token", "", with(pw, "password", "nope"), nil, 400, "invalid_grant", 5},
		{"missing password", "", with(pw, "password", ""), nil, 400, "invalid_request", 0},
		{"bad credtype", "", with(pw, "credtype", "password"), nil, 400, "invalid_request", 120},
		{"unknown grant", "", with(pw, "grant_type", "magic"), nil, 400, "unsupported_grant_type", 0},
		{"missing grant", "", with(pw, "grant_type", ""), nil, 400, "unsupported_grant_type", 0},
		{"unknown refresh token", "", refreshForm("rt-0-unknown"), nil, 400, "invalid_grant", 108},
		{"missing refresh token", "", with(refreshForm("x"), "refresh_token", ""), nil, 400, "invalid_request", 106},
		{"json content type", "", pw, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, 400, "invalid_request", 0},
		{"repeated parameter", "", url.Values{"grant_type": {"password", "password"}}, nil, 400, "invalid_request", 0},
		{"GET", "", pw, func(r *http.Request) { r.Method = http.MethodGet }, 405, "invalid_request", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, fakeserver.Options{AuthStyle: tt.auth})
			r := post(t, s, tt.form, tt.edit)
			if r.status != tt.status {
				t.Errorf("status %d, want %d", r.status, tt.status)
			}
			if got := r.str(t, "error"); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			if got, _ := r.body["code"].(float64); got != tt.wantCode {
				t.Errorf("code = %v, want %v", got, tt.wantCode)
			}
			if got := r.str(t, "geolocation"); got != s.URL() {
				t.Errorf("geolocation = %q, want %q", got, s.URL())
			}
			r.str(t, "error_description")
		})
	}
}

func TestAuthStyles(t *testing.T) {
	pw := passwordForm()
	noCreds := with(pw, "client_id", "", "client_secret", "")
	tests := []struct {
		name   string
		auth   string
		form   url.Values
		edit   func(*http.Request)
		status int
	}{
		{"either, params", fakeserver.AuthEither, pw, nil, 200},
		{"either, header", fakeserver.AuthEither, noCreds, basic(clientID, clientSecret), 200},
		{"either, both right", fakeserver.AuthEither, pw, basic(clientID, clientSecret), 200},
		{"params, params", fakeserver.AuthParams, pw, nil, 200},
		{"header, header", fakeserver.AuthHeader, noCreds, basic(clientID, clientSecret), 200},
		{"header, header with client_id in form", fakeserver.AuthHeader, with(noCreds, "client_id", clientID), basic(clientID, clientSecret), 200},
		{"header, params", fakeserver.AuthHeader, pw, nil, 401},
		{"params, header", fakeserver.AuthParams, noCreds, basic(clientID, clientSecret), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, fakeserver.Options{AuthStyle: tt.auth})
			r := post(t, s, tt.form, tt.edit)
			if r.status != tt.status {
				t.Errorf("status %d, want %d", r.status, tt.status)
			}
			if tt.status == 401 && r.header.Get("WWW-Authenticate") == "" && s.Last().BasicAuth {
				t.Error("401 after Basic auth without WWW-Authenticate")
			}
			if got, want := s.Last().BasicAuth, tt.edit != nil; got != want {
				t.Errorf("Last().BasicAuth = %v, want %v", got, want)
			}
		})
	}
}

func TestBasicAuthUnescapesSecret(t *testing.T) {
	c := fakeclock.New(epoch)
	s := fakeserver.New(fakeserver.Options{ClientID: "id:with/odd", ClientSecret: "se+cr et%", Now: c.Now})
	defer s.Close()
	form := url.Values{"grant_type": {"client_credentials"}}
	if r := post(t, s, form, basic("id:with/odd", "se+cr et%")); r.status != 200 {
		t.Errorf("status %d, want 200", r.status)
	}
}

func TestKeycloakErrors(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{Style: fakeserver.StyleKeycloak})
	r := post(t, s, refreshForm("rt-0-unknown"), nil)
	if r.status != 400 || r.str(t, "error") != "invalid_grant" || r.str(t, "error_description") != "Token is not active" {
		t.Errorf("got %d %s, want 400 invalid_grant \"Token is not active\"", r.status, r.raw)
	}
	for _, k := range []string{"code", "geolocation"} {
		if _, ok := r.body[k]; ok {
			t.Errorf("keycloak error has %s", k)
		}
	}
	// Keycloak ignores credtype; only Concur checks it.
	if got := post(t, s, with(passwordForm(), "credtype", "other"), nil).status; got != 200 {
		t.Errorf("keycloak with credtype=other: status %d, want 200", got)
	}
}

func TestNewPanicsOnBadOptions(t *testing.T) {
	tests := []struct {
		name string
		o    fakeserver.Options
	}{
		{"no client id", fakeserver.Options{ClientSecret: "s"}},
		{"no client secret", fakeserver.Options{ClientID: "c"}},
		{"bad style", fakeserver.Options{ClientID: "c", ClientSecret: "s", Style: "okta"}},
		{"bad auth style", fakeserver.Options{ClientID: "c", ClientSecret: "s", AuthStyle: "auto"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			fakeserver.NewHandler(tt.o)
		})
	}
}
