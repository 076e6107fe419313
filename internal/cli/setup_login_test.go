package cli

import (
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// Every login preset, given its one answer, makes credentials that load, with
// an interactive grant and a way to find every endpoint a login needs.
func TestLoginPresets(t *testing.T) {
	answers := map[string]string{"okta": "dev-1.okta.com", "auth0": "https://example.eu.auth0.com/", "entra": "contoso.onmicrosoft.com", "oidc": "https://id.example.com/tenant"}
	for _, p := range credentials.Presets {
		if !p.Login {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			c, err := credentials.Parse("c.json", credentials.Template())
			if err != nil {
				t.Fatal(err)
			}
			if err := applyPreset(c, p.Name, ""); err != nil {
				t.Fatal(err)
			}
			o := &setupOpts{preset: p.Name, values: map[string]string{"appID": "app"}}
			switch p.Arg {
			case "domain":
				o.domain = answers[p.Name]
			case "tenant":
				o.tenant = answers[p.Name]
			case "issuer":
				o.values["issuer"] = answers[p.Name]
			}
			o.apply(c)
			if err := c.Validate(); err != nil {
				t.Fatalf("%v: %+v", err, c)
			}
			if !credentials.Interactive(c.GrantType) {
				t.Errorf("grant %q, want an interactive one", c.GrantType)
			}
			if c.Issuer == "" && (c.TokenURL == "" || (c.AuthURL == "" && c.DeviceAuthURL == "")) {
				t.Errorf("no issuer and not all endpoints: %+v", c)
			}
			if c.TokenURL == credentials.DefaultTokenURL {
				t.Error("the Concur default token URL is left in")
			}
			if got := presetOf(c); got != p.Name {
				t.Errorf("presetOf = %q, want %q", got, p.Name)
			}
			if p.Grants[0] == credentials.GrantAuthorizationCode && p.Name != "google" && !strings.Contains(c.Scope, "offline_access") {
				t.Errorf("scope %q lacks offline_access", c.Scope)
			}
		})
	}
	c, _ := credentials.Parse("c.json", credentials.Template())
	applyPreset(c, "keycloak", "")
	o := &setupOpts{preset: "keycloak", realm: "acme", values: map[string]string{"tokenURL": "https://auth.example.com/", "grantType": "authorization_code"}}
	o.apply(c)
	if c.Issuer != "https://auth.example.com/realms/acme" || c.TokenURL != "" || c.Scope != "openid offline_access" {
		t.Errorf("keycloak login: issuer %q, tokenURL %q, scope %q", c.Issuer, c.TokenURL, c.Scope)
	}
}
