package refresh

import (
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// TestRefusalError: the kind and advice of each refusal, in the provider's words:
// Concur's for Concur endpoints only, and no command of the CLI anywhere.
func TestRefusalError(t *testing.T) {
	const concurURL = "https://us.api.concursolutions.com/oauth2/v0/token"
	const genericURL = "https://auth.example.com/token"
	tests := []struct {
		name, url, grant string
		ee               EndpointError
		kind             Kind
		want, not        string
	}{
		{"concur stale request token", concurURL, "password", EndpointError{Status: 400, Code: "invalid_grant", ProviderCode: 5}, KindNeedsHuman, "Company Request Token screen", ""},
		{"concur locked", concurURL, "password", EndpointError{Status: 400, Code: "invalid_grant", ProviderCode: 14}, KindNeedsHuman, "locked", ""},
		{"concur client disabled", concurURL, "password", EndpointError{Status: 400, ProviderCode: 59}, KindCredentials, "appID", ""},
		{"concur 108 for a pasted refresh token", concurURL, "refresh_token", EndpointError{Status: 400, Code: "invalid_grant", ProviderCode: 108}, KindNeedsHuman, "new refresh token", "Concur"},
		{"generic password grant refused", genericURL, "password", EndpointError{Status: 400, Code: "invalid_grant"}, KindNeedsHuman, "(username and password in", "companyUUID"},
		{"generic endpoint with a code is not Concur", genericURL, "client_credentials", EndpointError{Status: 400, ProviderCode: 5, Message: "bad"}, KindCredentials, "refused the request", "Concur"},
		{"generic refresh token refused", genericURL, "refresh_token", EndpointError{Status: 400, Code: "invalid_grant"}, KindNeedsHuman, "new refresh token", "Concur"},
		{"client refused", genericURL, "client_credentials", EndpointError{Status: 401}, KindCredentials, "appID and clientSecret", ""},
		{"scope", genericURL, "client_credentials", EndpointError{Status: 400, Code: "invalid_scope"}, KindCredentials, "check scope", ""},
		{"grant type", genericURL, "password", EndpointError{Status: 400, Code: "unsupported_grant_type"}, KindCredentials, `grantType "password"`, ""},
		{"redirect refused", genericURL, "password", EndpointError{Status: 0, Description: "redirect refused"}, KindCredentials, "check tokenURL", ""},
		{"not found", genericURL, "password", EndpointError{Status: 404}, KindCredentials, "check tokenURL", ""},
		{"concur answer at a loopback test endpoint", "http://127.0.0.1:9/token", "password", EndpointError{Status: 400, Code: "invalid_grant", ProviderCode: 64}, KindNeedsHuman, "expired or was used up", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &credentials.Credentials{TokenURL: tt.url, GrantType: tt.grant, Path: "/x/credentials.json"}
			e := refusalError(&tt.ee, c, (&Manager{}).geoTokenURL)
			if e.Kind != tt.kind {
				t.Errorf("kind %v, want %v", e.Kind, tt.kind)
			}
			if !strings.Contains(e.Hint, tt.want) || !strings.Contains(e.Hint, "/x/credentials.json") && tt.kind != KindNeedsHuman {
				t.Errorf("hint %q, want %q and the file", e.Hint, tt.want)
			}
			if tt.not != "" && strings.Contains(e.Hint, tt.not) {
				t.Errorf("hint %q speaks of %q", e.Hint, tt.not)
			}
			if strings.Contains(e.Hint+e.Msg, "tokenkeeper") || strings.Contains(e.Hint, "--") {
				t.Errorf("hint %q names the CLI", e.Hint)
			}
			if strings.Contains(e.Msg, "answered 0") {
				t.Errorf("message %q", e.Msg)
			}
		})
	}
}
