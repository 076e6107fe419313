package refresh

import (
	"net/http"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// TestRefreshTokenDead: a refusal of a refresh-token request is a dead refresh
// token by what it means, in each provider's words (docs/providers.md), unless
// it is clearly about the client, the scope, the grant type, our request or
// the endpoint's address.
func TestRefreshTokenDead(t *testing.T) {
	tests := []struct {
		name   string
		ee     EndpointError
		concur bool
		want   bool
	}{
		{"invalid_grant", EndpointError{Status: 400, Code: "invalid_grant"}, false, true},
		{"keycloak not active", EndpointError{Status: 400, Code: "invalid_grant", Description: "Token is not active"}, false, true},
		{"dex claimed", EndpointError{Status: 400, Code: "invalid_request", Description: "Refresh token is invalid or has already been claimed by another client."}, false, true},
		{"dex expired", EndpointError{Status: 400, Code: "invalid_request", Description: "Refresh token expired."}, false, true},
		{"invalid_token", EndpointError{Status: 401, Code: "invalid_token"}, false, true},
		{"unauthorized", EndpointError{Status: 400, Code: "unauthorized"}, false, true},
		{"github in a 200", EndpointError{Status: 200, Code: "bad_refresh_token"}, false, true},
		{"403 with no code", EndpointError{Status: 403}, false, true},
		{"concur 108", EndpointError{Status: 400, Code: "invalid_grant", ProviderCode: 108}, true, true},
		{"concur 108 without error", EndpointError{Status: 400, ProviderCode: 108}, true, true},

		{"invalid_client", EndpointError{Status: 401, Code: "invalid_client"}, false, false},
		{"unauthorized_client", EndpointError{Status: 400, Code: "unauthorized_client"}, false, false},
		{"bare 401", EndpointError{Status: 401}, false, false},
		{"401 challenging the client", EndpointError{Status: 401, Code: "unauthorized", ClientChallenge: true}, false, false},
		{"invalid_scope", EndpointError{Status: 400, Code: "invalid_scope", Description: "refresh token missing requested scope"}, false, false},
		{"unsupported_grant_type", EndpointError{Status: 400, Code: "unsupported_grant_type"}, false, false},
		{"our malformed request", EndpointError{Status: 400, Code: "invalid_request", Description: "parameter client_id is repeated"}, false, false},
		{"refresh token missing", EndpointError{Status: 400, Code: "invalid_request", Description: "Missing parameter: refresh_token"}, false, false},
		{"dex: no refresh token", EndpointError{Status: 400, Code: "invalid_request", Description: "No refresh token is found in request."}, false, false},
		{"unsupported media type", EndpointError{Status: 415}, false, false},
		{"not found", EndpointError{Status: 404}, false, false},
		{"redirect", EndpointError{Status: 302}, false, false},
		{"concur 107", EndpointError{Status: 400, Code: "unauthorized_client", ProviderCode: 107}, true, false},
		{"concur 106", EndpointError{Status: 400, Code: "invalid_request", ProviderCode: 106, Description: "refresh_token not supplied"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := credentials.Provider(credentials.Standard{})
			if tt.concur {
				p = credentials.ProviderOf(credentials.DefaultTokenURL)
			}
			if got := refreshTokenDead(&tt.ee, p); got != tt.want {
				t.Errorf("refreshTokenDead(%+v) = %v, want %v", tt.ee, got, tt.want)
			}
		})
	}
}

// entraEnv is a profile whose token URL is Entra's (the preset's ScopeOnRefresh),
// served by a fake that grants "openid api://app/read" whatever was asked.
func entraEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, fakeserver.Options{GrantedScope: "openid api://app/read"}, nil)
	srv := httptestServer(t, func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = fakeserver.ShortTokenPath
		e.fs.ServeHTTP(w, r)
	})
	e.creds.TokenURL = srv.URL + "/login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
	e.creds.Scope = "openid offline_access api://app/read"
	e.creds.CredentialType = ""
	if p := credentials.PresetFor(e.creds); !p.ScopeOnRefresh {
		t.Fatalf("preset %s has no ScopeOnRefresh", p.Name)
	}
	return e
}

// TestRefreshScope: a refresh asks for no scope (RFC 6749 §6), except for a
// provider whose preset needs one (Entra): then the scope the grant was given.
func TestRefreshScope(t *testing.T) {
	t.Run("none by default", func(t *testing.T) {
		e := newEnv(t, fakeserver.Options{GrantedScope: "openid"}, func(c *credentials.Credentials) { c.Scope = "openid offline_access" })
		e.mustEnsure(t, Options{}, ActionBootstrapped)
		e.clock.Add(2 * time.Hour)
		e.mustEnsure(t, Options{}, ActionRefreshed)
		if f := e.fs.LastForm(); f.Has("scope") {
			t.Errorf("refresh sent scope %q, want none", f.Get("scope"))
		}
	})
	t.Run("entra: the scope granted", func(t *testing.T) {
		e := entraEnv(t)
		e.mustEnsure(t, Options{}, ActionBootstrapped)
		e.clock.Add(2 * time.Hour)
		e.mustEnsure(t, Options{}, ActionRefreshed)
		if got := e.fs.LastForm().Get("scope"); got != "openid api://app/read" {
			t.Errorf("refresh sent scope %q, want the one granted", got)
		}
	})
	t.Run("entra: invalid_scope is asked again once without", func(t *testing.T) {
		e := entraEnv(t)
		e.mustEnsure(t, Options{}, ActionBootstrapped)
		e.fs.Fail(fakeserver.Fault{Status: 400, Body: `{"error":"invalid_scope","error_description":"AADSTS70011: The provided value for the input parameter 'scope' is not valid."}`})
		e.clock.Add(2 * time.Hour)
		r := e.mustEnsure(t, Options{}, ActionRefreshed)
		e.wantCounts(t, 1, 2)
		if f := e.fs.LastForm(); f.Has("scope") {
			t.Errorf("the second refresh sent scope %q, want none", f.Get("scope"))
		}
		if !hasWarning(r, "refused the scope sent with the refresh token", "AADSTS70011", "asked again without one") {
			t.Errorf("warnings %q do not say the scope was refused", r.Warnings)
		}
		if tok := e.stored(t); tok.refreshRefused() || tok.Refusal != nil {
			t.Errorf("the record remembers a refusal: %+v", tok.Refusal)
		}
	})
	t.Run("invalid_scope twice is no dead refresh token", func(t *testing.T) {
		e := entraEnv(t)
		e.mustEnsure(t, Options{}, ActionBootstrapped)
		for range 2 {
			e.fs.Fail(fakeserver.Fault{Status: 400, Body: `{"error":"invalid_scope"}`})
		}
		e.clock.Add(2 * time.Hour)
		_, err := e.ensure(t, Options{})
		if KindOf(err) != KindCredentials {
			t.Fatalf("Ensure: %v, want a credentials problem", err)
		}
		e.wantCounts(t, 1, 2)
		if tok := e.stored(t); tok.refreshRefused() {
			t.Error("the refresh token is remembered as refused")
		}
	})
}
