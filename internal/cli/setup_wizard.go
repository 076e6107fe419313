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

// step is the wizard's questions for a preset of the one table of providers,
// by what its row says: a login preset's; a region, for a provider with
// regions; a base URL (and a realm), for one whose row has BaseAsk; else the
// token URL. Then the
// provider's own questions (credentials.Provider.Questions), or, for a
// provider without any, those of the grant: a preset added to the table
// without questions of its own is asked as any RFC 6749 endpoint.
func (w *wizard) step(name string) func() error {
	p, ok := credentials.PresetNamed(name)
	switch {
	case !ok:
		p = preset("generic")
	case p.Login:
		return w.loginStep(p)
	case len(p.Regions) > 0:
		return func() error { return w.regions(p) }
	case p.BaseAsk != "":
		return func() error { return w.base(p) }
	}
	return func() error { return w.endpoint(p) }
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

// regions asks a provider with regions for one of them (or a full token
// URL), then its own questions.
func (w *wizard) regions(p *credentials.Preset) error {
	region := p.RegionOf(w.c.TokenURL)
	if region == "" {
		region = w.c.TokenURL
	}
	answer, err := w.p.Ask(w.ctx, fmt.Sprintf("region (%s, or a full token URL)", p.RegionNames()), region,
		func(a string) string {
			if _, ok := p.RegionURL(a); ok {
				return ""
			}
			if strings.Contains(a, "://") {
				return checkField(w.c, "tokenURL", a)
			}
			return fmt.Sprintf("unknown region %q; want one of %s, or a token URL", a, p.RegionNames())
		})
	if err != nil {
		return err
	}
	if u, ok := p.RegionURL(answer); ok {
		answer = u
	}
	w.c.TokenURL = answer
	if err := p.Apply(w.c, ""); err != nil {
		return err
	}
	return w.own(p)
}

// own asks the provider's own questions, else those of the grant.
func (w *wizard) own(p *credentials.Preset) error {
	if qs := p.Behaviour().Questions(); qs != nil {
		return w.fields(qs...)
	}
	return w.grantFields()
}

// base asks a provider whose token URL is made from a base URL (its row's
// BaseAsk: Keycloak, ThingPark) for it, and for a realm when the row says so;
// a full token URL is taken as it is (one that ends in IssuerPath).
func (w *wizard) base(p *credentials.Preset) error {
	base, realm := "", ""
	if p.Realm {
		if b, r, ok := splitRealmURL(p, w.c.TokenURL); ok {
			base, realm = b, r
		}
	} else if b, ok := strings.CutSuffix(w.c.TokenURL, p.TokenPath); ok {
		base = b
	}
	u, err := w.p.Ask(w.ctx, p.BaseAsk, base, w.urlCheck)
	if err != nil {
		return err
	}
	switch {
	case p.Realm:
		if !strings.HasSuffix(strings.TrimRight(u, "/"), p.IssuerPath) {
			if realm, err = w.p.Ask(w.ctx, "realm", realm, required); err != nil {
				return err
			}
		}
		u = realmURL(p, u, realm)
	default:
		if u = strings.TrimRight(u, "/"); !strings.HasSuffix(u, p.IssuerPath) {
			u += p.TokenPath
		}
	}
	w.c.TokenURL = u
	return w.baseGrant(p)
}

// baseGrant asks, once the token URL is known, the grant (the preset's, from
// the table), and for a grant a person starts, the issuer in place of the token
// URL: Keycloak's token URL is its issuer and the IssuerPath, for a realm
// (…/realms/NAME) as for ThingPark's users-auth.
func (w *wizard) baseGrant(p *credentials.Preset) error {
	if err := w.grant(grantsOf(p.Name)); err != nil {
		return err
	}
	if credentials.Interactive(w.c.GrantType) { // a person logs in: the realm's issuer
		w.c.Issuer, w.c.TokenURL = strings.TrimSuffix(w.c.TokenURL, p.IssuerPath), ""
		if w.c.Scope == "" {
			w.c.Scope = "openid offline_access"
		}
	}
	return w.own(p)
}

// endpoint asks for the token URL and the grant (unasked when the provider
// takes one only), then the provider's own questions; a provider without
// any is asked the grant's, and how the client authenticates.
func (w *wizard) endpoint(p *credentials.Preset) error {
	u, err := w.p.Ask(w.ctx, "token URL", w.c.TokenURL, w.urlCheck)
	if err != nil {
		return err
	}
	w.c.TokenURL = u
	if grants := grantsOf(p.Name); len(grants) == 1 {
		w.c.GrantType = grants[0]
	} else if err := w.grant(grants); err != nil {
		return err
	}
	if qs := p.Behaviour().Questions(); qs != nil {
		return w.fields(qs...)
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

// grantFields asks for what the grant type needs, in the endpoint's words
// (credentials.Credentials.Word): the password grant's username and password,
// not the template's provider's field names, and never its credtype. The
// template's credtype is cleared at another provider's endpoint; any other
// credentialType already in the file stays, and setup --credential-type sets one.
func (w *wizard) grantFields() error {
	qs := []q{{Field: "appID", Label: "client ID (appID)"}, {Field: "clientSecret", Label: "client secret"}}
	if w.c.GrantType != credentials.GrantPassword {
		w.c.CredentialType = "" // credtype belongs to the password grant
	}
	switch w.c.GrantType {
	case credentials.GrantPassword:
		if t := credentials.TemplatePreset(); credentials.PresetOf(w.c.TokenURL) != t && w.c.CredentialType == t.CredentialType {
			w.c.CredentialType = "" // the template's: unasked, it must not be sent elsewhere
		}
		qs = append(qs, q{Field: "companyUUID", Label: w.c.Word("companyUUID")}, q{Field: "companyRequestToken", Label: w.c.Word("companyRequestToken")})
	case credentials.GrantRefreshToken:
		qs = append(qs, q{Field: "refreshToken", Label: "refresh token"})
	}
	return w.fields(append(qs, q{Field: "scope", Label: "scope, optional (space-separated)"})...)
}

// q is one question about one field.
type q = credentials.Question

func (w *wizard) fields(qs ...q) error {
	for _, q := range w.keyQuestions(qs) {
		f := fieldByName(q.Field)
		ptr := f.Ptr(w.c)
		check := func(a string) string { return checkField(w.c, q.Field, a) }
		var v string
		var err error
		if f.Secret {
			v, err = w.p.Secret(w.ctx, q.Label, *ptr, func(a string) string {
				return check(clearDash(a))
			})
		} else {
			v, err = w.p.Ask(w.ctx, q.Label, *ptr, func(a string) string {
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
		if x.Field != "clientSecret" {
			out = append(out, x)
			continue
		}
		out = append(out, q{Field: "clientKey", Label: "client private key file (PEM; a relative path is from credentials.json's directory)"})
		if w.c.ClientAuth == credentials.AuthPrivateKeyJWT {
			out = append(out, q{Field: "clientKeyID", Label: "key ID (kid), optional"})
		}
		out = append(out, q{Field: "clientCert", Label: "client certificate file (PEM), " + map[bool]string{true: "required", false: "optional"}[w.c.TLSAuth()]})
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

// urlCheck requires a token URL: only the template's provider has a default.
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
