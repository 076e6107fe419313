package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/prompt"
)

// wizard asks for every field the chosen provider needs, one at a time, each
// with its current value (Enter keeps it) and checked on the spot. It changes
// c only; saving is the caller's.
type wizard struct {
	ctx context.Context
	p   *prompt.Prompter
	c   *credentials.Credentials
}

// lineEnd remembers whether what was written last ended a line: a question
// left on the terminal when the user pressed Ctrl-C or Ctrl-D does not.
type lineEnd struct {
	w       io.Writer
	atStart bool
}

func (l *lineEnd) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.atStart = p[len(p)-1] == '\n'
	}
	return l.w.Write(p)
}

// newLine ends the line a question left open.
func newLine(w io.Writer) {
	if l, ok := w.(*lineEnd); ok && !l.atStart {
		fmt.Fprintln(l)
	}
}

// presetChoices is the provider menu, from the one table of providers.
func presetChoices() []prompt.Choice {
	var cs []prompt.Choice
	for _, p := range credentials.Presets {
		help := p.Help
		if p.Login {
			help += "; ends with tokenkeeper login"
		}
		cs = append(cs, prompt.Choice{Name: p.Name, Help: help})
	}
	return cs
}

func (a *app) wizard(c *credentials.Credentials, o *setupOpts, tty *os.File, existed bool) error {
	// Messages after the wizard start on a line of their own (lineEnd).
	a.stderr = &lineEnd{w: a.stderr, atStart: true}
	w := &wizard{ctx: a.ctx, c: c, p: &prompt.Prompter{In: tty, Out: a.stderr, TTY: tty}}
	if existed {
		fmt.Fprintf(a.stderr, "editing %s: Enter keeps the value in [brackets], - clears an optional one\n", c.Path)
	} else {
		fmt.Fprintf(a.stderr, "setting up %s: Enter takes the value in [brackets]\n", a.paths.CredentialsFile)
	}
	preset := o.preset
	if preset == "" {
		var err error
		if preset, err = w.p.Choose(w.ctx, "provider", presetChoices(), presetOf(c)); err != nil {
			return err
		}
		fromTemplate(c, existed, preset)
		if err := applyPreset(c, preset, ""); err != nil {
			return err
		}
		for name, v := range o.values { // the fields given as flags stay given
			*fieldByName(name).Ptr(c) = v
		}
	}
	return w.step(preset)()
}

// step is the wizard's questions for a preset of the one table of providers:
// its own, a login preset's, else the generic endpoint's (a preset added to the
// table without questions of its own is asked as any RFC 6749 endpoint).
func (w *wizard) step(name string) func() error {
	p, ok := credentials.PresetNamed(name)
	switch {
	case ok && p.Login:
		return w.loginStep(p)
	case name == "concur":
		return w.concur
	case name == "keycloak":
		return w.keycloak
	case name == "thingpark":
		return w.thingpark
	case name == "kore":
		return w.kore
	}
	return w.generic
}

// grantsOf are the grants the wizard offers for a preset: the table's. A
// preset that takes any grant (generic) is offered those that need no person:
// a grant started in a browser has the login presets (oidc among them), which
// ask for the issuer it needs.
func grantsOf(name string) []string {
	if p, ok := credentials.PresetNamed(name); ok && len(p.Grants) > 0 {
		return p.Grants
	}
	return []string{credentials.GrantPassword, credentials.GrantClientCredentials, credentials.GrantRefreshToken}
}

func (w *wizard) concur() error {
	region := concur().RegionOf(w.c.TokenURL)
	if region == "" {
		region = w.c.TokenURL
	}
	answer, err := w.p.Ask(w.ctx, fmt.Sprintf("region (%s, or a full token URL)", concur().RegionNames()), region,
		func(a string) string {
			if _, ok := concur().RegionURL(a); ok {
				return ""
			}
			if strings.Contains(a, "://") {
				return checkField(w.c, "tokenURL", a)
			}
			return fmt.Sprintf("unknown region %q; want one of %s, or a token URL", a, concur().RegionNames())
		})
	if err != nil {
		return err
	}
	if u, ok := concur().RegionURL(answer); ok {
		answer = u
	}
	w.c.TokenURL = answer
	if err := concur().Apply(w.c, ""); err != nil {
		return err
	}
	return w.fields(
		q{"appID", "App ID (client_id)"},
		q{"clientSecret", "client secret"},
		q{"companyUUID", "company UUID (from the Company Request Token screen)"},
		q{"companyRequestToken", "company request token"},
	)
}

func (w *wizard) keycloak() error {
	base, realm, ok := splitKeycloakURL(w.c.TokenURL)
	if !ok {
		base, realm = "", ""
	}
	u, err := w.p.Ask(w.ctx, "Keycloak base URL (like https://auth.example.com), or the full token URL", base, w.urlCheck)
	if err != nil {
		return err
	}
	if !strings.HasSuffix(strings.TrimRight(u, "/"), keycloakTokenPath()) {
		realm, err = w.p.Ask(w.ctx, "realm", realm, required)
		if err != nil {
			return err
		}
	}
	w.c.TokenURL = keycloakURL(u, realm)
	return w.keycloakGrant("keycloak")
}

func (w *wizard) thingpark() error {
	base := strings.TrimSuffix(w.c.TokenURL, thingparkTokenPath())
	if base == w.c.TokenURL {
		base = ""
	}
	u, err := w.p.Ask(w.ctx, "ThingPark platform URL (like https://community.thingpark.io), or the full token URL", base, w.urlCheck)
	if err != nil {
		return err
	}
	if u = strings.TrimRight(u, "/"); !strings.HasSuffix(u, keycloakTokenPath()) {
		u += thingparkTokenPath()
	}
	w.c.TokenURL = u
	return w.keycloakGrant("thingpark")
}

// keycloakGrant asks what Keycloak and ThingPark share, once the token URL is
// known: the grant (the preset's, from the table), and for a grant a person
// starts, the realm's issuer in place of the token URL. Keycloak's token URL is
// its issuer and the token path, for a realm (…/realms/NAME) as for
// ThingPark's users-auth, so the issuer is the token URL without that path.
func (w *wizard) keycloakGrant(preset string) error {
	if err := w.grant(grantsOf(preset)); err != nil {
		return err
	}
	if credentials.Interactive(w.c.GrantType) { // a person logs in: the realm's issuer
		w.c.Issuer, w.c.TokenURL = strings.TrimSuffix(w.c.TokenURL, keycloakTokenPath()), ""
		if w.c.Scope == "" {
			w.c.Scope = "openid offline_access"
		}
	}
	return w.grantFields()
}

func (w *wizard) kore() error {
	u, err := w.p.Ask(w.ctx, "token URL", w.c.TokenURL, w.urlCheck)
	if err != nil {
		return err
	}
	w.c.TokenURL, w.c.GrantType = u, credentials.GrantClientCredentials
	return w.fields(q{"appID", "client ID"}, q{"clientSecret", "client secret"})
}

func (w *wizard) generic() error {
	u, err := w.p.Ask(w.ctx, "token URL", w.c.TokenURL, w.urlCheck)
	if err != nil {
		return err
	}
	w.c.TokenURL = u
	if err := w.grant(grantsOf("generic")); err != nil {
		return err
	}
	if err := w.grantFields(); err != nil {
		return err
	}
	if w.c.KeyAuth() || w.c.ClientAuth != "" { // clientAuth says it already
		return nil
	}
	style, err := w.p.Choose(w.ctx, "client authentication (authStyle)", []prompt.Choice{
		{Name: credentials.AuthParams, Help: "client_id and client_secret in the form body"},
		{Name: credentials.AuthHeader, Help: "HTTP Basic"},
		{Name: credentials.AuthAuto, Help: "try the form, then Basic, and remember what worked"},
	}, w.c.AuthStyle)
	w.c.AuthStyle = style
	return err
}

func (w *wizard) grant(allowed []string) error {
	var choices []prompt.Choice
	help := map[string]string{
		credentials.GrantPassword:          "a username and password",
		credentials.GrantClientCredentials: "client ID and secret only",
		credentials.GrantRefreshToken:      "a refresh token you were given",
		credentials.GrantAuthorizationCode: "you log in in a browser (tokenkeeper login)",
		credentials.GrantDeviceCode:        "you log in on any device with a code (tokenkeeper login --device)",
	}
	def := ""
	for _, g := range allowed {
		choices = append(choices, prompt.Choice{Name: g, Help: help[g]})
		if g == w.c.GrantType {
			def = g
		}
	}
	g, err := w.p.Choose(w.ctx, "grant type", choices, def)
	w.c.GrantType = g
	return err
}

// grantFields asks for what the grant type needs, in the endpoint's words:
// the password grant's username and password, not Concur's companyUUID and
// request token, and never Concur's credtype. Concur's own credtype (the
// template's) is cleared at another endpoint; any other credentialType already
// in the file stays, and setup --credential-type sets one.
func (w *wizard) grantFields() error {
	qs := []q{{"appID", "client ID (appID)"}, {"clientSecret", "client secret"}}
	if w.c.GrantType != credentials.GrantPassword {
		w.c.CredentialType = "" // credtype belongs to the password grant
	}
	switch w.c.GrantType {
	case credentials.GrantPassword:
		if !credentials.IsConcur(w.c.TokenURL) && w.c.CredentialType == concur().CredentialType {
			w.c.CredentialType = "" // Concur's, from the template: unasked, it must not be sent elsewhere
		}
		qs = append(qs, q{"companyUUID", w.c.Word("companyUUID")}, q{"companyRequestToken", w.c.Word("companyRequestToken")})
	case credentials.GrantRefreshToken:
		qs = append(qs, q{"refreshToken", "refresh token"})
	}
	return w.fields(append(qs, q{"scope", "scope, optional (space-separated)"})...)
}

// q is one question about one field.
type q struct{ field, label string }

func (w *wizard) fields(qs ...q) error {
	for _, q := range w.keyQuestions(qs) {
		f := fieldByName(q.field)
		ptr := f.Ptr(w.c)
		check := func(a string) string { return checkField(w.c, q.field, a) }
		var v string
		var err error
		if f.Secret {
			v, err = w.p.Secret(w.ctx, q.label, *ptr, func(a string) string {
				return check(clearDash(a))
			})
		} else {
			v, err = w.p.Ask(w.ctx, q.label, *ptr, func(a string) string {
				return check(clearDash(a))
			})
		}
		if err != nil {
			return err
		}
		*ptr = clearDash(v)
	}
	return nil
}

// keyQuestions asks, where a client secret would be asked, for the key
// files of a client that authenticates with a key (clientAuth, set in the
// file or by setup --client-auth): the method is never guessed.
func (w *wizard) keyQuestions(qs []q) []q {
	if !w.c.KeyAuth() {
		return qs
	}
	var out []q
	for _, x := range qs {
		if x.field != "clientSecret" {
			out = append(out, x)
			continue
		}
		out = append(out, q{"clientKey", "client private key file (PEM; a relative path is from credentials.json's directory)"})
		if w.c.ClientAuth == credentials.AuthPrivateKeyJWT {
			out = append(out, q{"clientKeyID", "key ID (kid), optional"})
		}
		out = append(out, q{"clientCert", "client certificate file (PEM), " + map[bool]string{true: "required", false: "optional"}[w.c.TLSAuth()]})
	}
	return out
}

// clearDash: "-" empties an optional field, which Enter alone cannot.
func clearDash(v string) string {
	if v == "-" {
		return ""
	}
	return v
}

// urlCheck requires a token URL: only Concur's preset has a default.
func (w *wizard) urlCheck(a string) string {
	if strings.TrimSpace(a) == "" {
		return "required"
	}
	return checkField(w.c, "tokenURL", strings.TrimSpace(a))
}

func required(a string) string {
	if a == "" {
		return "required"
	}
	return ""
}
