package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// setupField is one field of credentials.json as setup sees it: its flag, the
// environment variable a secret may come from instead of argv, and how to
// reach it in a Credentials.
type setupField struct {
	name, flag, env string
	secret          bool
	ptr             func(*credentials.Credentials) *string
}

var setupFields = []setupField{
	{"tokenURL", "token-url", "", false, func(c *credentials.Credentials) *string { return &c.TokenURL }},
	{"grantType", "grant-type", "", false, func(c *credentials.Credentials) *string { return &c.GrantType }},
	{"appID", "app-id", "", false, func(c *credentials.Credentials) *string { return &c.AppID }},
	{"clientSecret", "client-secret", "TOKENKEEPER_CLIENT_SECRET", true, func(c *credentials.Credentials) *string { return &c.ClientSecret }},
	{"companyUUID", "company-uuid", "", false, func(c *credentials.Credentials) *string { return &c.CompanyUUID }},
	{"companyRequestToken", "company-request-token", "TOKENKEEPER_COMPANY_REQUEST_TOKEN", true, func(c *credentials.Credentials) *string { return &c.CompanyRequestToken }},
	{"credentialType", "credential-type", "", false, func(c *credentials.Credentials) *string { return &c.CredentialType }},
	{"scope", "scope", "", false, func(c *credentials.Credentials) *string { return &c.Scope }},
	{"refreshToken", "refresh-token", "TOKENKEEPER_REFRESH_TOKEN", true, func(c *credentials.Credentials) *string { return &c.RefreshToken }},
	{"authStyle", "auth-style", "", false, func(c *credentials.Credentials) *string { return &c.AuthStyle }},
	{"issuer", "issuer", "", false, func(c *credentials.Credentials) *string { return &c.Issuer }},
	{"authURL", "auth-url", "", false, func(c *credentials.Credentials) *string { return &c.AuthURL }},
	{"deviceAuthURL", "device-auth-url", "", false, func(c *credentials.Credentials) *string { return &c.DeviceAuthURL }},
	{"revocationURL", "revocation-url", "", false, func(c *credentials.Credentials) *string { return &c.RevocationURL }},
	{"redirectURL", "redirect-url", "", false, func(c *credentials.Credentials) *string { return &c.RedirectURL }},
}

// secretEnv lists the environment variables that carry a secret to
// tokenkeeper (setup reads them instead of argv): exec strips them from its
// child's environment. Derived from setupFields, so a field added there is
// stripped too.
func secretEnv() []string {
	var names []string
	for _, f := range setupFields {
		if f.secret && f.env != "" {
			names = append(names, f.env)
		}
	}
	return names
}

// usage is the field's line in setup's help.
func (f setupField) usage() string {
	if f.env != "" {
		return fmt.Sprintf("%s (secret: better from %s, or - for stdin)", f.name, f.env)
	}
	return f.name
}

func fieldByName(name string) setupField {
	for _, f := range setupFields {
		if f.name == name {
			return f
		}
	}
	panic("setup: unknown field " + name)
}

// checkField judges value for one field with the same rules as loading the
// file (credentials.Validate), so the wizard and the file never disagree.
// An empty optional field is fine; an empty required one is not.
func checkField(c *credentials.Credentials, name, value string) string {
	cp := *c
	*fieldByName(name).ptr(&cp) = value
	var inv *credentials.InvalidError
	if err := cp.Validate(); errors.As(err, &inv) {
		for _, p := range inv.Problems {
			if p.Field == name {
				return p.Msg
			}
		}
	}
	return ""
}

// Concur's token endpoints by region (PROVIDERS.md).
var concurRegions = []struct{ name, host, help string }{
	{"us", "us.api.concursolutions.com", "United States"},
	{"eu", "emea.api.concursolutions.com", "Europe (EMEA)"},
	{"cn", "cn.api.concurcdc.cn", "China"},
	{"us-impl", "us-impl.api.concursolutions.com", "US implementation (test) site"},
	{"eu-impl", "emea-impl.api.concursolutions.com", "EU implementation (test) site"},
	{"usg", "usg.api.concursolutions.com", "US public sector"},
}

const concurTokenPath = "/oauth2/v0/token"

// concurTokenURL maps a region name (or "emea") to its token URL.
func concurTokenURL(region string) (string, bool) {
	r := strings.ToLower(strings.TrimSpace(region))
	r = strings.Replace(r, "emea", "eu", 1)
	for _, c := range concurRegions {
		if r == c.name {
			return "https://" + c.host + concurTokenPath, true
		}
	}
	return "", false
}

func concurRegionNames() string {
	var names []string
	for _, r := range concurRegions {
		names = append(names, r.name)
	}
	return strings.Join(names, ", ")
}

// concurRegionOf is the region of a Concur token URL, "" for another URL.
func concurRegionOf(tokenURL string) string {
	for _, r := range concurRegions {
		if tokenURL == "https://"+r.host+concurTokenPath {
			return r.name
		}
	}
	return ""
}

const (
	keycloakTokenPath  = "/protocol/openid-connect/token"
	thingparkTokenPath = "/users-auth" + keycloakTokenPath
	koreTokenURL       = "https://api.korewireless.com/api-services/v1/auth/token"
)

// keycloakURL builds a realm's token endpoint from the server's base URL. A
// URL that already ends in the token path is taken as it is.
func keycloakURL(base, realm string) string {
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	if strings.HasSuffix(base, keycloakTokenPath) {
		return base
	}
	// An old Keycloak's base ends in /auth; it stays, as it is part of the path.
	return base + "/realms/" + url.PathEscape(realm) + keycloakTokenPath
}

// splitKeycloakURL is keycloakURL's inverse, for showing an existing URL as
// base and realm; ok is false for any other URL.
func splitKeycloakURL(tokenURL string) (base, realm string, ok bool) {
	rest, found := strings.CutSuffix(tokenURL, keycloakTokenPath)
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/realms/")
	if i < 0 {
		return "", "", false
	}
	realm, err := url.PathUnescape(rest[i+len("/realms/"):])
	if err != nil || realm == "" || strings.Contains(realm, "/") {
		return "", "", false
	}
	return rest[:i], realm, true
}

// presetOf guesses the preset of existing credentials, so that re-running
// setup starts where the user left off.
func presetOf(c *credentials.Credentials) string {
	if p := loginPresetOf(c); p != "" {
		return p
	}
	switch u := c.TokenURL; {
	case concurRegionOf(u) != "" || strings.HasSuffix(u, concurTokenPath):
		return "concur"
	case strings.HasSuffix(u, thingparkTokenPath):
		return "thingpark"
	case strings.HasSuffix(u, keycloakTokenPath):
		return "keycloak"
	case strings.Contains(u, "korewireless.com/"):
		return "kore"
	}
	return "generic"
}

var presetNames = []string{"concur", "keycloak", "thingpark", "kore", "generic", "okta", "auth0", "entra", "google", "github", "oidc"}

// applyPreset sets what a preset fixes, non-interactively. region applies to
// concur only.
func applyPreset(c *credentials.Credentials, preset, region string) error {
	switch preset {
	case "", "generic":
	case "concur":
		c.GrantType = credentials.GrantPassword
		if c.CredentialType == "" {
			c.CredentialType = "authtoken"
		}
		if region != "" {
			u, ok := concurTokenURL(region)
			switch {
			case ok:
				c.TokenURL = u
			case strings.Contains(region, "://"): // a full token URL, as the wizard takes it
				c.TokenURL = region
			default:
				return fmt.Errorf("unknown Concur region %q; want one of %s, or a full token URL", region, concurRegionNames())
			}
		}
	case "keycloak", "thingpark":
		if c.GrantType == credentials.GrantPassword || c.GrantType == "" {
			c.GrantType = credentials.GrantClientCredentials
		}
		c.CredentialType = ""
	case "kore":
		c.GrantType = credentials.GrantClientCredentials
		c.CredentialType = ""
		if presetOf(c) != "kore" {
			c.TokenURL = koreTokenURL
		}
	default:
		p := findLoginPreset(preset)
		if p == nil {
			return fmt.Errorf("unknown preset %q; want one of %s", preset, strings.Join(presetNames, ", "))
		}
		p.defaults(c)
	}
	if region != "" && preset != "concur" {
		return fmt.Errorf("--region is for --preset concur")
	}
	return nil
}
