package credentials

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/internal/editdist"
)

// Preset is what tokenkeeper knows of one kind of provider: how its token URL
// is made, which grants it takes, and how to recognise it. It is the one table
// of providers: setup asks by it, the refusal advice speaks by it (a
// provider's own words for its own endpoints only: Provider), and status names it.
type Preset struct {
	Name string
	Help string // one line for a menu
	// Grants the provider takes, the default first; nil: any grant.
	Grants []string
	// CredentialType is the credtype its password grant sends (the
	// bootstrap form's one field beyond RFC 6749's); "" for none.
	CredentialType string
	// TokenURL is the provider's one token URL, when it has one (KORE);
	// Regions name the token URLs of a provider with several.
	TokenURL string
	Regions  []Region
	// TokenPath is the path every token URL of the provider ends in; Hosts
	// the domain suffixes of its token hosts. Either identifies the provider.
	TokenPath string
	Hosts     []string

	// BaseAsk: setup asks for the provider's base URL with this question
	// (or a full token URL), rather than for the token URL; the token URL is
	// the base and TokenPath, with /realms/NAME between them when Realm
	// (setup asks for the realm too). IssuerPath is what follows the issuer in
	// the token URL, for a grant a person starts (Keycloak's realms).
	BaseAsk    string
	Realm      bool
	IssuerPath string

	// A login preset (docs/contract.md §7): the first refresh token comes from a person;
	// setup writes the endpoints, grant and scope, then runs login. Arg is the
	// one thing setup must be told (its flag of that name; "" for none) and Ask
	// the question for it; SetEndpoints makes the endpoints from its value.
	Login        bool
	Arg, Ask     string
	Scope        string
	AuthParams   map[string]string
	Issuer       string // a fixed issuer (Google)
	SetEndpoints func(c *Credentials, v string)
	// match recognises credentials of the preset by their issuer or endpoints,
	// before the token URL rules (login presets, and Keycloak's issuer).
	match func(c *Credentials) bool

	// ScopeOnRefresh: the provider needs a scope in a refresh request (Entra
	// v2 answers AADSTS90009 without one); the scope the grant was given is
	// sent, else the configured one. Every other provider gets none: RFC 6749
	// §6 has an omitted scope mean the one originally granted.
	ScopeOnRefresh bool
	// EndpointAudience: a client assertion's aud is the endpoint alone,
	// never with the issuer beside it (Okta and Entra document exactly the
	// endpoint; docs/providers.md, "Client authentication").
	EndpointAudience bool

	// Provider is how the provider behaves differently from RFC 6749 (its
	// file, like concur.go); nil is Standard.
	Provider Provider
}

// Region is one of a provider's token endpoints, by a short name.
type Region struct{ Name, Host, Help string }

// Presets, in the order a menu shows them. "generic" comes last and matches any
// endpoint: it speaks of no provider.
var Presets = []Preset{
	{
		Name: "concur", Help: "SAP Concur (company request token, the tutorial's flow)",
		Grants: []string{GrantPassword}, CredentialType: "authtoken",
		Regions: []Region{
			{"us", "us.api.concursolutions.com", "United States"},
			{"eu", "emea.api.concursolutions.com", "Europe (EMEA)"},
			{"cn", "cn.api.concurcdc.cn", "China"},
			{"us-impl", "us-impl.api.concursolutions.com", "US implementation (test) site"},
			{"eu-impl", "emea-impl.api.concursolutions.com", "EU implementation (test) site"},
			{"usg", "usg.api.concursolutions.com", "US public sector"},
		},
		TokenPath: "/oauth2/v0/token",
		Hosts:     []string{".concursolutions.com", ".concurcdc.cn"},
		Provider:  concur{},
	},
	{
		Name: "keycloak", Help: "Keycloak: base URL and realm",
		Grants:    []string{GrantClientCredentials, GrantRefreshToken, GrantAuthorizationCode, GrantDeviceCode},
		TokenPath: "/protocol/openid-connect/token",
		BaseAsk:   "Keycloak base URL (like https://auth.example.com), or the full token URL", Realm: true,
		IssuerPath: "/protocol/openid-connect/token",
		match:      func(c *Credentials) bool { return strings.Contains(c.Issuer, "/realms/") },
	},
	{
		Name: "thingpark", Help: "ThingPark (Keycloak's users-auth realm)",
		Grants:     []string{GrantClientCredentials, GrantRefreshToken, GrantAuthorizationCode, GrantDeviceCode},
		TokenPath:  "/users-auth/protocol/openid-connect/token",
		BaseAsk:    "ThingPark platform URL (like https://community.thingpark.io), or the full token URL",
		IssuerPath: "/protocol/openid-connect/token",
	},
	{
		Name: "kore", Help: "KORE Wireless (client credentials)",
		Grants:    []string{GrantClientCredentials},
		TokenURL:  "https://api.korewireless.com/api-services/v1/auth/token",
		TokenPath: "/api-services/v1/auth/token",
		Hosts:     []string{".korewireless.com"},
		Provider:  kore{},
	},
	{
		Name: "generic", Help: "any RFC 6749 token endpoint, any grant",
	},
	// The login presets (docs/providers.md, and the providers' own documentation).
	{Name: "okta", Help: "Okta (your Okta domain, the default authorization server)", Login: true,
		Arg: "domain", Ask: "Okta domain (like dev-123456.okta.com)",
		Grants: []string{GrantAuthorizationCode}, Scope: "openid offline_access", EndpointAudience: true,
		SetEndpoints: func(c *Credentials, v string) { c.Issuer = "https://" + hostOf(v) + "/oauth2/default" },
		match:        func(c *Credentials) bool { return strings.Contains(c.Issuer, ".okta.com/") }},
	{Name: "auth0", Help: "Auth0 (your tenant's domain)", Login: true,
		Arg: "domain", Ask: "Auth0 domain (like example.eu.auth0.com)",
		Grants: []string{GrantAuthorizationCode}, Scope: "openid offline_access",
		SetEndpoints: func(c *Credentials, v string) { c.Issuer = "https://" + hostOf(v) + "/" },
		match:        func(c *Credentials) bool { return strings.Contains(c.Issuer, ".auth0.com") }},
	// Entra's discovery document names the tenant's ID as issuer whatever the
	// tenant was called by (a domain, "organizations"), so the endpoints are
	// written out rather than discovered. It has no revocation endpoint.
	{Name: "entra", Help: "Microsoft Entra ID (tenant)", Login: true,
		Arg: "tenant", Ask: "tenant (its ID, a domain like contoso.onmicrosoft.com, or organizations)",
		Grants: []string{GrantAuthorizationCode}, Scope: "openid offline_access", ScopeOnRefresh: true, EndpointAudience: true,
		SetEndpoints: func(c *Credentials, v string) {
			base := "https://login.microsoftonline.com/" + url.PathEscape(strings.TrimSpace(v)) + "/oauth2/v2.0/"
			c.AuthURL, c.TokenURL, c.DeviceAuthURL = base+"authorize", base+"token", base+"devicecode"
		},
		match: func(c *Credentials) bool { return strings.Contains(c.TokenURL, "login.microsoftonline.com/") }},
	{Name: "google", Help: "Google (a Desktop app client; it has a client secret)", Login: true,
		Grants: []string{GrantAuthorizationCode}, Scope: "openid email", Issuer: "https://accounts.google.com",
		AuthParams: map[string]string{"access_type": "offline", "prompt": "consent"},
		match:      func(c *Credentials) bool { return c.Issuer == "https://accounts.google.com" }},
	{Name: "github", Help: "GitHub App with expiring user tokens (device flow)", Login: true,
		Grants: []string{GrantDeviceCode},
		SetEndpoints: func(c *Credentials, _ string) {
			c.AuthURL, c.DeviceAuthURL = "https://github.com/login/oauth/authorize", "https://github.com/login/device/code"
			c.TokenURL = "https://github.com/login/oauth/access_token"
		},
		match: func(c *Credentials) bool { return strings.HasPrefix(c.TokenURL, "https://github.com/") }},
	{Name: "oidc", Help: "any OpenID provider, by its issuer URL", Login: true, Arg: "issuer", Ask: "issuer URL",
		Grants: []string{GrantAuthorizationCode}, Scope: "openid offline_access",
		SetEndpoints: func(c *Credentials, v string) { c.Issuer = strings.TrimSpace(v) },
		match:        func(c *Credentials) bool { return c.Issuer != "" }},
}

// hostOf takes a domain given with or without https:// and a path.
func hostOf(v string) string {
	v = strings.TrimSpace(v)
	if u, err := url.Parse(v); err == nil && u.Host != "" {
		return u.Host
	}
	return strings.TrimRight(v, "/")
}

// PresetFor recognises the provider of credentials: by their issuer or
// endpoints first (login presets, Keycloak's issuer), else by the token URL.
func PresetFor(c *Credentials) *Preset {
	for i := range Presets {
		if p := &Presets[i]; p.match != nil && p.match(c) {
			return p
		}
	}
	return PresetOf(c.TokenURL)
}

// PresetNamed returns the preset of that name.
func PresetNamed(name string) (*Preset, bool) {
	for i := range Presets {
		if Presets[i].Name == name {
			return &Presets[i], true
		}
	}
	return nil, false
}

// NearestPreset is the preset name that name is most likely a typo of, or "".
func NearestPreset(name string) string {
	var names []string
	for _, p := range Presets {
		names = append(names, p.Name)
	}
	return editdist.Nearest(strings.ToLower(name), names)
}

// PresetNames lists the presets' names, comma-separated, for messages.
func PresetNames() string {
	var names []string
	for _, p := range Presets {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// PresetOf recognises the provider of a token URL by its host or its token
// path (a test endpoint on loopback with a provider's path is taken for it);
// "generic" when none.
func PresetOf(tokenURL string) *Preset {
	found, _ := PresetNamed("generic")
	u, err := url.Parse(tokenURL)
	if err != nil {
		return found
	}
	path := strings.TrimRight(u.Path, "/")
	for i := range Presets {
		p := &Presets[i]
		switch {
		case p.TokenURL != "" && tokenURL == p.TokenURL, p.matchesHost(u.Hostname()):
			return p
		case p.TokenPath != "" && strings.HasSuffix(path, p.TokenPath) && len(p.TokenPath) > len(found.TokenPath):
			found = p // the longest path wins: ThingPark's is a Keycloak path
		}
	}
	return found
}

func (p *Preset) matchesHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range p.Hosts {
		if strings.HasSuffix(host, h) {
			return true
		}
	}
	return false
}

// TemplatePreset is the provider of the template's token URL (the
// tutorial's): credentials.json's field names are its words, and an unset
// token URL without an issuer is its endpoint.
func TemplatePreset() *Preset { return PresetOf(DefaultTokenURL) }

// RegionalPresets lists the names of the presets with regions, for messages.
func RegionalPresets() string {
	var names []string
	for _, p := range Presets {
		if len(p.Regions) > 0 {
			names = append(names, p.Name)
		}
	}
	return strings.Join(names, ", ")
}

// RegionURL maps a region name of the preset to its token URL.
func (p *Preset) RegionURL(region string) (string, bool) {
	r := strings.ToLower(strings.TrimSpace(region))
	r = strings.Replace(r, "emea", "eu", 1)
	for _, reg := range p.Regions {
		if r == reg.Name {
			return "https://" + reg.Host + p.TokenPath, true
		}
	}
	return "", false
}

// RegionOf is the region whose token URL is tokenURL, or "".
func (p *Preset) RegionOf(tokenURL string) string {
	for _, reg := range p.Regions {
		if tokenURL == "https://"+reg.Host+p.TokenPath {
			return reg.Name
		}
	}
	return ""
}

// RegionNames lists the preset's regions, comma-separated, for messages.
func (p *Preset) RegionNames() string {
	var names []string
	for _, r := range p.Regions {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}

// Apply sets on c what the preset fixes: its grant (when c's is not one it
// takes), its credtype (cleared for every other provider), its one token URL.
// region picks a token URL of a preset with regions.
func (p *Preset) Apply(c *Credentials, region string) error {
	if p.Login {
		if region != "" {
			return fmt.Errorf("a region is for a provider with regions (%s), not %s", RegionalPresets(), p.Name)
		}
		p.applyLogin(c)
		return nil
	}
	if len(p.Grants) > 0 && !contains(p.Grants, c.GrantType) {
		c.GrantType = p.Grants[0]
	}
	switch {
	case p.CredentialType != "" && c.CredentialType == "":
		c.CredentialType = p.CredentialType
	case p.CredentialType == "" && c.GrantType != GrantPassword:
		c.CredentialType = "" // a credtype belongs to its provider's password grant
	}
	if p.TokenURL != "" && PresetOf(c.TokenURL) != p {
		c.TokenURL = p.TokenURL
	}
	if region == "" {
		return nil
	}
	if len(p.Regions) == 0 {
		return fmt.Errorf("a region is for a provider with regions (%s), not %s", RegionalPresets(), p.Name)
	}
	u, ok := p.RegionURL(region)
	switch {
	case ok:
		c.TokenURL = u
	case strings.Contains(region, "://"): // a full token URL, as the wizard takes it
		c.TokenURL = strings.TrimSpace(region)
	default:
		return fmt.Errorf("unknown %s region %q; want one of %s, or a full token URL", p.Name, region, p.RegionNames())
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// applyLogin sets what a login preset fixes: the grant, the scope when none is
// set, authParams, and the endpoints that need no answer. The template's
// provider's values go: these providers' endpoints come from their issuer.
func (p *Preset) applyLogin(c *Credentials) {
	if c.GrantType == "" || !Interactive(c.GrantType) {
		c.GrantType = p.Grants[0]
	}
	if c.TokenURL == DefaultTokenURL {
		c.TokenURL = ""
	}
	c.CredentialType, c.CompanyUUID, c.CompanyRequestToken = "", "", ""
	if c.Scope == "" {
		c.Scope = p.Scope
	}
	if p.AuthParams != nil {
		c.AuthParams = p.AuthParams
	}
	if p.Issuer != "" {
		c.Issuer = p.Issuer
	}
	if p.Arg == "" && p.SetEndpoints != nil {
		p.SetEndpoints(c, "")
	}
}
