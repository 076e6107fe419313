package cli

import (
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// loginPreset is a provider whose first refresh token comes from a person
// (SPEC §7): setup writes its endpoints, grant and scope, then runs login. arg
// is the one thing setup must be told (a setup flag of that name), "" for none.
type loginPreset struct {
	name, help  string
	arg, ask    string
	grant       string
	scope       string
	authParams  map[string]string
	endpoints   func(c *credentials.Credentials, v string) // from arg's value
	fixedIssuer string
}

// loginPresets is the one table of these providers (PROVIDERS.md, the
// providers' own documentation).
var loginPresets = []loginPreset{
	{name: "okta", help: "Okta (your Okta domain, the default authorization server)", arg: "domain", ask: "Okta domain (like dev-123456.okta.com)",
		grant: credentials.GrantAuthorizationCode, scope: "openid offline_access",
		endpoints: func(c *credentials.Credentials, v string) { c.Issuer = "https://" + hostOf(v) + "/oauth2/default" }},
	{name: "auth0", help: "Auth0 (your tenant's domain)", arg: "domain", ask: "Auth0 domain (like example.eu.auth0.com)",
		grant: credentials.GrantAuthorizationCode, scope: "openid offline_access",
		endpoints: func(c *credentials.Credentials, v string) { c.Issuer = "https://" + hostOf(v) + "/" }},
	// Entra's discovery document names the tenant's ID as issuer whatever the
	// tenant was called by (a domain, "organizations"), so the endpoints are
	// written out rather than discovered. It has no revocation endpoint.
	{name: "entra", help: "Microsoft Entra ID (tenant)", arg: "tenant", ask: "tenant (its ID, a domain like contoso.onmicrosoft.com, or organizations)",
		grant: credentials.GrantAuthorizationCode, scope: "openid offline_access",
		endpoints: func(c *credentials.Credentials, v string) {
			base := "https://login.microsoftonline.com/" + url.PathEscape(strings.TrimSpace(v)) + "/oauth2/v2.0/"
			c.AuthURL, c.TokenURL, c.DeviceAuthURL = base+"authorize", base+"token", base+"devicecode"
		}},
	{name: "google", help: "Google (a Desktop app client; it has a client secret)", fixedIssuer: "https://accounts.google.com",
		grant: credentials.GrantAuthorizationCode, scope: "openid email",
		authParams: map[string]string{"access_type": "offline", "prompt": "consent"}},
	{name: "github", help: "GitHub App with expiring user tokens (device flow)",
		grant: credentials.GrantDeviceCode,
		endpoints: func(c *credentials.Credentials, _ string) {
			c.AuthURL, c.DeviceAuthURL = "https://github.com/login/oauth/authorize", "https://github.com/login/device/code"
			c.TokenURL = "https://github.com/login/oauth/access_token"
		}},
	{name: "oidc", help: "any OpenID provider, by its issuer URL", arg: "issuer", ask: "issuer URL",
		grant: credentials.GrantAuthorizationCode, scope: "openid offline_access",
		endpoints: func(c *credentials.Credentials, v string) { c.Issuer = strings.TrimSpace(v) }},
}

func findLoginPreset(name string) *loginPreset {
	for i := range loginPresets {
		if loginPresets[i].name == name {
			return &loginPresets[i]
		}
	}
	return nil
}

// defaults sets what the preset fixes: the grant, the scope when none is set,
// authParams, and the endpoints that need no answer. The Concur token URL of
// the template goes: these providers' come from their issuer.
func (p *loginPreset) defaults(c *credentials.Credentials) {
	if c.GrantType == "" || !credentials.Interactive(c.GrantType) {
		c.GrantType = p.grant
	}
	if c.TokenURL == credentials.DefaultTokenURL {
		c.TokenURL = ""
	}
	c.CredentialType, c.CompanyUUID, c.CompanyRequestToken = "", "", ""
	if c.Scope == "" {
		c.Scope = p.scope
	}
	if p.authParams != nil {
		c.AuthParams = p.authParams
	}
	if p.fixedIssuer != "" {
		c.Issuer = p.fixedIssuer
	}
	if p.arg == "" && p.endpoints != nil {
		p.endpoints(c, "")
	}
}

// hostOf takes a domain given with or without https:// and a path.
func hostOf(v string) string {
	v = strings.TrimSpace(v)
	if u, err := url.Parse(v); err == nil && u.Host != "" {
		return u.Host
	}
	return strings.TrimRight(v, "/")
}

// keycloakIssuer is a realm's issuer: what an interactive Keycloak grant
// discovers its endpoints from.
func keycloakIssuer(base, realm string) string {
	if b, r, ok := splitKeycloakURL(base); ok {
		base, realm = b, r
	}
	return strings.TrimRight(strings.TrimSpace(base), "/") + "/realms/" + url.PathEscape(realm)
}

// loginPresetOf is presetOf for the login presets; "" for none.
func loginPresetOf(c *credentials.Credentials) string {
	switch {
	case strings.Contains(c.TokenURL, "login.microsoftonline.com/"):
		return "entra"
	case strings.HasPrefix(c.TokenURL, "https://github.com/"):
		return "github"
	case c.Issuer == "https://accounts.google.com":
		return "google"
	case strings.Contains(c.Issuer, ".okta.com/"):
		return "okta"
	case strings.Contains(c.Issuer, ".auth0.com"):
		return "auth0"
	case strings.Contains(c.Issuer, "/realms/"):
		return "keycloak"
	case c.Issuer != "":
		return "oidc"
	}
	return ""
}

// loginStep is the wizard's step for a login preset: its one answer, then the
// client.
func (w *wizard) loginStep(p *loginPreset) func() error {
	return func() error {
		p.defaults(w.c)
		if p.arg != "" {
			v, err := w.p.Ask(w.ctx, p.ask, "", required)
			if err != nil {
				return err
			}
			p.endpoints(w.c, v)
		}
		return w.fields(q{"appID", "client ID (appID)"}, q{"clientSecret", "client secret, optional (public clients have none)"},
			q{"scope", "scope (space-separated)"})
	}
}
