package credentials

import (
	"fmt"
	"net/url"
	"strings"
)

// Preset is what tokenkeeper knows of one kind of provider: how its token URL
// is made, which grants it takes, and how to recognise it. It is the one table
// of providers: setup asks by it, the refusal advice speaks by it (Concur's
// words for Concur endpoints only), and status names it.
type Preset struct {
	Name string
	Help string // one line for a menu
	// Grants the provider takes, the default first; nil: any grant.
	Grants []string
	// CredentialType is Concur's credtype; "" for every other provider.
	CredentialType string
	// TokenURL is the provider's one token URL, when it has one (KORE);
	// Regions name the token URLs of a provider with several (Concur).
	TokenURL string
	Regions  []Region
	// TokenPath is the path every token URL of the provider ends in; Hosts
	// the domain suffixes of its token hosts. Either identifies the provider.
	TokenPath string
	Hosts     []string
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
	},
	{
		Name: "keycloak", Help: "Keycloak: base URL and realm",
		Grants:    []string{GrantClientCredentials, GrantRefreshToken, GrantAuthorizationCode, GrantDeviceCode},
		TokenPath: "/protocol/openid-connect/token",
	},
	{
		Name: "thingpark", Help: "ThingPark (Keycloak's users-auth realm)",
		Grants:    []string{GrantClientCredentials, GrantRefreshToken, GrantAuthorizationCode, GrantDeviceCode},
		TokenPath: "/users-auth/protocol/openid-connect/token",
	},
	{
		Name: "kore", Help: "KORE Wireless (client credentials)",
		Grants:    []string{GrantClientCredentials},
		TokenURL:  "https://api.korewireless.com/api-services/v1/auth/token",
		TokenPath: "/api-services/v1/auth/token",
		Hosts:     []string{".korewireless.com"},
	},
	{
		Name: "generic", Help: "any RFC 6749 token endpoint, any grant",
	},
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

// PresetNames lists the presets' names, comma-separated, for messages.
func PresetNames() string {
	var names []string
	for _, p := range Presets {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// PresetOf recognises the provider of a token URL by its host or its token
// path (a test endpoint on loopback with Concur's path is taken for Concur);
// "generic" when none.
func PresetOf(tokenURL string) *Preset {
	found := &Presets[len(Presets)-1]
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

// IsConcur reports whether a token URL is one of SAP Concur's.
func IsConcur(tokenURL string) bool { return PresetOf(tokenURL).Name == "concur" }

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
	if len(p.Grants) > 0 && !contains(p.Grants, c.GrantType) {
		c.GrantType = p.Grants[0]
	}
	switch {
	case p.CredentialType != "" && c.CredentialType == "":
		c.CredentialType = p.CredentialType
	case p.CredentialType == "" && c.GrantType != GrantPassword:
		c.CredentialType = "" // credtype belongs to Concur's password grant
	}
	if p.TokenURL != "" && PresetOf(c.TokenURL) != p {
		c.TokenURL = p.TokenURL
	}
	if region == "" {
		return nil
	}
	if len(p.Regions) == 0 {
		return fmt.Errorf("--region is for a provider with regions (concur), not %s", p.Name)
	}
	u, ok := p.RegionURL(region)
	if !ok {
		return fmt.Errorf("unknown %s region %q; want one of %s", p.Name, region, p.RegionNames())
	}
	c.TokenURL = u
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
