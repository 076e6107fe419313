package credentials

import "testing"

func TestPresetOf(t *testing.T) {
	tests := map[string]string{
		DefaultTokenURL:                                                           "concur",
		"http://127.0.0.1:9/oauth2/v0/token":                                      "concur",
		"https://cn.api.concurcdc.cn/oauth2/v0/token":                             "concur",
		"https://emea.api.concursolutions.com/other":                              "concur",
		"https://auth.example.com/realms/a/protocol/openid-connect/token":         "keycloak",
		"https://community.thingpark.io/users-auth/protocol/openid-connect/token": "thingpark",
		"https://api.korewireless.com/api-services/v1/auth/token":                 "kore",
		"https://bakrypt.io/auth/token/":                                          "generic",
		"https://concursolutions.com.evil.example/token":                          "generic",
		"":            "generic",
		"::not a url": "generic",
	}
	for u, want := range tests {
		if got := PresetOf(u).Name; got != want {
			t.Errorf("PresetOf(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestRegionURL(t *testing.T) {
	concur, _ := PresetNamed("concur")
	tests := map[string]string{
		"us":      "https://us.api.concursolutions.com/oauth2/v0/token",
		"EU":      "https://emea.api.concursolutions.com/oauth2/v0/token",
		"emea":    "https://emea.api.concursolutions.com/oauth2/v0/token",
		"cn":      "https://cn.api.concurcdc.cn/oauth2/v0/token",
		"us-impl": "https://us-impl.api.concursolutions.com/oauth2/v0/token",
		"eu-impl": "https://emea-impl.api.concursolutions.com/oauth2/v0/token",
		"usg":     "https://usg.api.concursolutions.com/oauth2/v0/token",
		"mars":    "",
		"":        "",
	}
	for region, want := range tests {
		got, ok := concur.RegionURL(region)
		if got != want || ok != (want != "") {
			t.Errorf("RegionURL(%q) = %q, %v; want %q", region, got, ok, want)
		}
		if want != "" && concur.RegionOf(got) == "" {
			t.Errorf("RegionOf(%q) = \"\"", got)
		}
	}
	if u, _ := concur.RegionURL("us"); u != DefaultTokenURL {
		t.Errorf("the default token URL %q is not Concur's us region %q", DefaultTokenURL, u)
	}
}

// TestGenericSpeaksNoConcur: the generic preset sets no Concur value, and
// clears Concur's credtype from a grant that is not Concur's.
func TestGenericSpeaksNoConcur(t *testing.T) {
	generic, _ := PresetNamed("generic")
	c := &Credentials{GrantType: GrantClientCredentials, CredentialType: "authtoken"}
	if err := generic.Apply(c, ""); err != nil {
		t.Fatal(err)
	}
	if c.TokenURL != "" || c.CredentialType != "" {
		t.Errorf("generic preset gave tokenURL %q, credentialType %q; want both empty", c.TokenURL, c.CredentialType)
	}
	if err := generic.Apply(c, "us"); err == nil {
		t.Error("generic preset took a region")
	}
}

// TestPresetFor: credentials are recognised by their issuer or endpoints (the
// login presets, a Keycloak realm's issuer) before their token URL, and every
// login preset applied to the Concur template is recognised as itself.
func TestPresetFor(t *testing.T) {
	tests := []struct {
		c    Credentials
		want string
	}{
		{Credentials{Issuer: "https://dev-1.okta.com/oauth2/default"}, "okta"},
		{Credentials{Issuer: "https://x.eu.auth0.com/"}, "auth0"},
		{Credentials{TokenURL: "https://login.microsoftonline.com/t/oauth2/v2.0/token"}, "entra"},
		{Credentials{Issuer: "https://accounts.google.com"}, "google"},
		{Credentials{TokenURL: "https://github.com/login/oauth/access_token"}, "github"},
		{Credentials{Issuer: "https://auth.example.com/realms/acme"}, "keycloak"},
		{Credentials{Issuer: "https://id.example.com"}, "oidc"},
		{Credentials{TokenURL: DefaultTokenURL}, "concur"},
		{Credentials{TokenURL: "https://auth.example.com/token"}, "generic"},
	}
	for _, tt := range tests {
		if got := PresetFor(&tt.c).Name; got != tt.want {
			t.Errorf("PresetFor(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
	for _, p := range Presets {
		if !p.Login {
			continue
		}
		c, _ := Parse("c.json", Template())
		if err := p.Apply(c, ""); err != nil {
			t.Fatal(err)
		}
		if p.Arg != "" {
			answer := map[string]string{"okta": "dev-1.okta.com", "auth0": "x.eu.auth0.com", "entra": "contoso.onmicrosoft.com", "oidc": "https://id.example.com"}[p.Name]
			p.SetEndpoints(c, answer)
		}
		if got := PresetFor(c).Name; got != p.Name || c.TokenURL == DefaultTokenURL || c.CredentialType != "" {
			t.Errorf("%s applied: recognised as %q, tokenURL %q, credentialType %q", p.Name, got, c.TokenURL, c.CredentialType)
		}
	}
}
