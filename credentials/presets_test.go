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
