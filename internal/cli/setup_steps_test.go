package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/prompt"
)

// TestWizardSteps: the wizard's questions for the presets the terminal tests
// do not drive (Keycloak's base URL and realm, ThingPark's platform URL,
// KORE's client), asked by each preset's row and provider.
func TestWizardSteps(t *testing.T) {
	const kc = "/protocol/openid-connect/token"
	for _, tt := range []struct {
		name, preset, input string
		asked, notAsked     []string
		tokenURL, issuer    string
		grant               string
	}{
		{"keycloak base and realm", "keycloak", "https://auth.example.com/\nmy realm\nclient_credentials\nid\nsecret\n\n",
			[]string{"Keycloak base URL", "realm", "authorization_code", "client ID (appID)"}, nil,
			"https://auth.example.com/realms/my%20realm" + kc, "", credentials.GrantClientCredentials},
		{"keycloak full token URL", "keycloak", "https://auth.example.com/auth/realms/r" + kc + "\nclient_credentials\nid\nsecret\n\n",
			[]string{"Keycloak base URL"}, []string{"realm ["},
			"https://auth.example.com/auth/realms/r" + kc, "", credentials.GrantClientCredentials},
		{"keycloak login", "keycloak", "https://auth.example.com\nr\nauthorization_code\nid\n\n\n",
			[]string{"Keycloak base URL", "realm"}, nil,
			"", "https://auth.example.com/realms/r", credentials.GrantAuthorizationCode},
		{"thingpark", "thingpark", "https://community.thingpark.io/\nclient_credentials\nid\nsecret\n\n",
			[]string{"ThingPark platform URL"}, []string{"realm"},
			"https://community.thingpark.io/users-auth" + kc, "", credentials.GrantClientCredentials},
		{"thingpark login", "thingpark", "https://community.thingpark.io\ndevice_code\nid\n\n\n",
			[]string{"ThingPark platform URL", "device_code"}, nil,
			"", "https://community.thingpark.io/users-auth", credentials.GrantDeviceCode},
		{"kore", "kore", "https://api.korewireless.com/api-services/v1/auth/token\nid\nsecret\n",
			[]string{"token URL", "client ID: ", "client secret"}, []string{"grant type", "scope", "authStyle"},
			"https://api.korewireless.com/api-services/v1/auth/token", "", credentials.GrantClientCredentials},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			c := &credentials.Credentials{Path: filepath.Join(t.TempDir(), "credentials.json"), AuthStyle: credentials.AuthParams}
			w := &wizard{ctx: t.Context(), c: c, p: &prompt.Prompter{In: strings.NewReader(tt.input), Out: &out}}
			if err := w.step(tt.preset)(); err != nil {
				t.Fatalf("wizard: %v\n%s", err, out.String())
			}
			for _, s := range tt.asked {
				if !strings.Contains(out.String(), s) {
					t.Errorf("not asked or offered %q:\n%s", s, out.String())
				}
			}
			for _, s := range tt.notAsked {
				if strings.Contains(out.String(), s) {
					t.Errorf("asked %q:\n%s", s, out.String())
				}
			}
			if c.TokenURL != tt.tokenURL || c.Issuer != tt.issuer || c.GrantType != tt.grant || c.AppID != "id" {
				t.Errorf("tokenURL %q, issuer %q, grant %q, appID %q; want %q, %q, %q, id",
					c.TokenURL, c.Issuer, c.GrantType, c.AppID, tt.tokenURL, tt.issuer, tt.grant)
			}
		})
	}
}
