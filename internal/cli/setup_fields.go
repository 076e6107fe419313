package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// setupField is one field of credentials.json as setup sees it: a row of the
// one field table (credentials.Fields).
type setupField = *credentials.Field

func fieldByName(name string) setupField {
	f := credentials.FieldNamed(name)
	if f == nil {
		panic("setup: unknown field " + name)
	}
	return f
}

// setupFields are the table's rows, in template order.
func setupFields() []setupField {
	out := make([]setupField, len(credentials.Fields))
	for i := range credentials.Fields {
		out[i] = &credentials.Fields[i]
	}
	return out
}

// checkField judges value for one field with the same rules as loading the
// file (credentials.Validate), so the wizard and the file never disagree.
// An empty optional field is fine; an empty required one is not.
func checkField(c *credentials.Credentials, name, value string) string {
	cp := *c
	*fieldByName(name).Ptr(&cp) = value
	var inv *credentials.InvalidError
	if err := cp.Validate(); errors.As(err, &inv) {
		for _, p := range inv.Problems {
			if p.About(name) {
				return p.Msg
			}
		}
	}
	return ""
}

// preset returns a provider of the one table (credentials.Presets).
func preset(name string) *credentials.Preset {
	p, ok := credentials.PresetNamed(name)
	if !ok {
		panic("setup: unknown preset " + name)
	}
	return p
}

// Looked up when setup needs them, not at every start-up (docs/performance.md).
// keycloakURL and splitKeycloakURL are realmURL and splitRealmURL for
// Keycloak's row, for setup --realm and a login's issuer.
func keycloakURL(base, realm string) string { return realmURL(preset("keycloak"), base, realm) }
func splitKeycloakURL(tokenURL string) (base, realm string, ok bool) {
	return splitRealmURL(preset("keycloak"), tokenURL)
}

// realmURL builds a realm's token endpoint from the server's base URL, for a
// preset with realms (Keycloak). A URL that already ends in the token path is
// taken as it is.
func realmURL(p *credentials.Preset, base, realm string) string {
	base = strings.TrimRight(strings.TrimSpace(base), "/")
	if strings.HasSuffix(base, p.TokenPath) {
		return base
	}
	// An old Keycloak's base ends in /auth; it stays, as it is part of the path.
	return base + "/realms/" + url.PathEscape(realm) + p.TokenPath
}

// splitRealmURL is realmURL's inverse, for showing an existing URL as
// base and realm; ok is false for any other URL.
func splitRealmURL(p *credentials.Preset, tokenURL string) (base, realm string, ok bool) {
	rest, found := strings.CutSuffix(tokenURL, p.TokenPath)
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
// An empty tokenURL is the template's provider's (the tutorial's default endpoint).
func presetOf(c *credentials.Credentials) string {
	if c.TokenURL == "" && c.Issuer == "" {
		return credentials.TemplatePreset().Name
	}
	return credentials.PresetFor(c).Name
}

// fromTemplate empties credentials that hold only the template's values (a
// new file) before another provider than the template's is applied: a
// generic endpoint must not inherit its token URL or credtype.
func fromTemplate(c *credentials.Credentials, existed bool, preset string) {
	if existed || preset == "" || preset == credentials.TemplatePreset().Name {
		return
	}
	*c = credentials.Credentials{Path: c.Path, AuthStyle: credentials.AuthParams}
}

// applyPreset sets what a preset fixes, non-interactively. "" is no preset:
// the file's values stay. region applies to a preset with regions.
func applyPreset(c *credentials.Credentials, name, region string) error {
	if name == "" {
		if region != "" {
			return fmt.Errorf("--region is for --preset %s", credentials.RegionalPresets())
		}
		return nil
	}
	p, ok := credentials.PresetNamed(name)
	if !ok {
		if near := credentials.NearestPreset(name); near != "" {
			return fmt.Errorf("unknown preset %q (did you mean %s?); want one of %s", name, near, credentials.PresetNames())
		}
		return fmt.Errorf("unknown preset %q; want one of %s", name, credentials.PresetNames())
	}
	if region != "" && len(p.Regions) == 0 {
		return fmt.Errorf("--region is for a provider with regions (%s), not %s", credentials.RegionalPresets(), p.Name)
	}
	return p.Apply(c, region)
}

// usage is a field's flag help: its name, and for a secret where else to give it.
func fieldUsage(f setupField) string {
	name := f.Name
	if f.Generic != "" {
		name += " (the " + f.Generic + " at endpoints other than Concur's)"
	}
	if f.Env != "" {
		return fmt.Sprintf("%s (secret: better from %s, or - for stdin)", name, f.Env)
	}
	return name
}
