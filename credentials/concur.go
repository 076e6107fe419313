package credentials

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// concur is SAP Concur, the tutorial's provider (its row in Presets: regions,
// token path, hosts, credtype): its numeric error codes, its words, and its
// geolocation routing.
type concur struct{ Standard }

const newRequestToken = "generate a new company request token in Concur's Company Request Token screen and put it in {file} (companyRequestToken)"

// codes are SAP Concur's error codes (docs/troubleshooting.md, "Concur's
// codes"). Code 16 is answered by a retry at the user's geolocation before it
// gets to advice; 108 (a dead refresh token) by a bootstrap. Built when a
// refusal is read, not at every start-up (docs/contract.md §6).
func (concur) codes() map[int]Reading {
	return map[int]Reading{
		5:   {RefusedPerson, "the company UUID or company request token was refused; " + newRequestToken},
		14:  {RefusedPerson, "the Concur account is locked; contact your Concur administrator"},
		16:  {Moved, ""}, // MovedAdvice
		19:  {RefusedPerson, "the company request token was refused; " + newRequestToken},
		53:  {RefusedCredentials, "the company has not enabled this app; a Concur administrator of the company must enable it"},
		59:  {RefusedCredentials, "the app (appID) is disabled or unknown; check appID and {secret} in {file} and the app's status with SAP Concur"},
		64:  {RefusedPerson, "the company request token has expired or was used up; " + newRequestToken},
		106: {RefusedBug, "the refresh token was not sent, which is a bug: please report it"},
		107: {RefusedCredentials, "this app is not allowed the refresh grant; check the app's grant settings with SAP Concur"},
		108: {RefusedGrant, ""}, // a refused grant: GrantAdvice
		120: {RefusedCredentials, "credentialType is not accepted; set it to \"authtoken\" in {file}"},
	}
}

// Codes lists Concur's codes, for tests that go through every one.
func (c concur) Codes() []int {
	var out []int
	for code := range c.codes() {
		out = append(out, code)
	}
	return out
}

func (c concur) Read(r Refusal) (Reading, bool) {
	rd, ok := c.codes()[r.ProviderCode]
	return rd, ok
}

// Claims: an answer with both an OAuth "error" and a numeric code is
// Concur's (KORE sends a "code" alone, which repeats the HTTP status).
func (concur) Claims(r Refusal) bool { return r.ProviderCode != 0 && r.Code != "" }

func (concur) GrantAdvice(grant string) string {
	if grant == GrantPassword {
		return "the company UUID or company request token was refused; " + newRequestToken
	}
	return ""
}

func (concur) ReauthAdvice(c *Credentials) string {
	if c.GrantType == GrantPassword {
		return "before then, " + strings.ReplaceAll(newRequestToken, "{file}", c.Path)
	}
	return ""
}

func (concur) MovedAdvice(file, to string) string {
	if to != "" {
		return fmt.Sprintf("the user lives in another Concur data centre: set tokenURL in %s to %s", file, to)
	}
	return fmt.Sprintf("the user lives in another Concur data centre, and the answer named none that can be used; set tokenURL in %s to your data centre's token URL", file)
}

func (concur) Questions() []Question {
	return []Question{
		{"appID", "App ID (client_id)"},
		{"clientSecret", "client secret"},
		{"companyUUID", "company UUID (from the Company Request Token screen)"},
		{"companyRequestToken", "company request token"},
	}
}

// Concur's geolocation (docs/contract.md §2, "geolocation"). A token answer, and Concur's
// code-16 error, may name the user's data centre; Concur wants refreshes sent
// there. Whoever writes that field decides where the client secret and the
// refresh token go next, so it is honoured only when the token URL is a Concur
// host and the geolocation an https origin in Concur's domains. Anywhere else
// it is kept in the token record (scripts read it: exec's TOKENKEEPER_API_BASE,
// the TokenSource's Extra) and never used to send a request.
//
// Tests. The fake endpoints of the tests and the demo are loopback servers,
// which are not Concur hosts: with the rule above they send geolocation and it
// is ignored (the demo's names its own origin, so nothing changes). To test the
// routing itself, refresh's tests pass a trust rule that also accepts loopback
// servers (refresh.Manager's unexported trustHost, which has no other setter):
// no caller, no configuration and no provider can widen the rule, and the
// binary always runs with it as written here — a real provider can never
// redirect a request to loopback or anywhere outside Concur's domains.

// domains are the domains of Concur's token hosts and data centres
// (docs/getting-started.md): us.api.concursolutions.com, cn.api.concurcdc.cn, …, from the
// one table of providers; worked out when a geolocation is checked, not at
// every start-up (docs/contract.md §6).
func (concur) domains() []string {
	p, _ := PresetNamed("concur")
	var out []string
	for _, h := range p.Hosts {
		out = append(out, strings.TrimPrefix(h, "."))
	}
	return out
}

// IsConcurHost reports whether u is https to a host under Concur's domains,
// on the default port, without user info.
func IsConcurHost(u *url.URL) bool {
	if u.Scheme != "https" || u.User != nil || (u.Port() != "" && u.Port() != "443") {
		return false
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, d := range (concur{}).domains() {
		if strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// Route returns Concur's token URL at where, for a grant whose token endpoint
// is tokenURL, or why it must not be used: ErrNotRouted, or where is not an
// https origin in Concur's domains.
func (c concur) Route(tokenURL, where string, trust func(*url.URL) bool) (string, error) {
	if trust == nil {
		trust = IsConcurHost
	}
	if t, err := url.Parse(tokenURL); err != nil || !trust(t) {
		return "", ErrNotRouted
	}
	g, err := url.Parse(strings.TrimSuffix(where, "/"))
	if err != nil || !trust(g) || g.Opaque != "" || g.Path != "" || g.RawQuery != "" || g.ForceQuery || g.Fragment != "" {
		return "", fmt.Errorf("geolocation %s is not an https origin in Concur's domains (%s)", redact.URL(where), strings.Join(c.domains(), ", "))
	}
	return g.Scheme + "://" + g.Host + "/oauth2/v0/token", nil
}
