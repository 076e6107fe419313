package refresh

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

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
// routing itself, tests in this package set Manager.concurHost to a rule that
// also accepts loopback servers. It is unexported and has no other setter: no
// caller, no configuration and no provider can widen the rule, and the binary
// always runs with it as written here — a real provider can never redirect a
// request to loopback or anywhere outside Concur's domains.

// concurDomains are the domains of Concur's token hosts and data centres
// (docs/getting-started.md): us.api.concursolutions.com, cn.api.concurcdc.cn, …, from the
// one table of providers; worked out when a geolocation is checked, not at
// every start-up (docs/contract.md §6).
func concurDomains() []string {
	p, _ := credentials.PresetNamed("concur")
	var out []string
	for _, h := range p.Hosts {
		out = append(out, strings.TrimPrefix(h, "."))
	}
	return out
}

// isConcurHost reports whether u is https to a host under Concur's domains, on
// the default port, without user info.
func isConcurHost(u *url.URL) bool {
	if u.Scheme != "https" || u.User != nil || (u.Port() != "" && u.Port() != "443") {
		return false
	}
	h := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	for _, d := range concurDomains() {
		if strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// errNotConcur: the token URL is not Concur's, so no geolocation is followed.
var errNotConcur = errors.New("the token URL is not a Concur host")

// geoTokenURL returns Concur's token URL at geo, for a grant whose token
// endpoint is tokenURL, or why it must not be used: errNotConcur, or geo is not
// an https origin in Concur's domains.
func (m *Manager) geoTokenURL(tokenURL, geo string) (string, error) {
	concur := m.concurHost
	if concur == nil {
		concur = isConcurHost
	}
	if t, err := url.Parse(tokenURL); err != nil || !concur(t) {
		return "", errNotConcur
	}
	g, err := url.Parse(strings.TrimSuffix(geo, "/"))
	if err != nil || !concur(g) || g.Opaque != "" || g.Path != "" || g.RawQuery != "" || g.ForceQuery || g.Fragment != "" {
		return "", fmt.Errorf("geolocation %s is not an https origin in Concur's domains (%s)", redact.URL(geo), strings.Join(concurDomains(), ", "))
	}
	return g.Scheme + "://" + g.Host + "/oauth2/v0/token", nil
}
