package cli

import (
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// loginPreset returns the login preset (credentials.Presets, Login) of that
// name, or nil.
func loginPreset(name string) *credentials.Preset {
	if p, ok := credentials.PresetNamed(name); ok && p.Login {
		return p
	}
	return nil
}

// keycloakIssuer is a realm's issuer: what an interactive Keycloak grant
// discovers its endpoints from.
func keycloakIssuer(base, realm string) string {
	if b, r, ok := splitKeycloakURL(base); ok {
		base, realm = b, r
	}
	return strings.TrimRight(strings.TrimSpace(base), "/") + "/realms/" + url.PathEscape(realm)
}

// loginStep is the wizard's step for a login preset: its one answer, then the
// client.
func (w *wizard) loginStep(p *credentials.Preset) func() error {
	return func() error {
		if err := p.Apply(w.c, ""); err != nil {
			return err
		}
		if p.Arg != "" {
			v, err := w.p.Ask(w.ctx, p.Ask, "", required)
			if err != nil {
				return err
			}
			p.SetEndpoints(w.c, v)
		}
		return w.fields(q{Field: "appID", Label: "client ID (appID)"}, q{Field: "clientSecret", Label: "client secret, optional (public clients have none)"},
			q{Field: "scope", Label: "scope (space-separated)"})
	}
}
