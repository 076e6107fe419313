package credentials

// Field is one field of credentials.json: the one table that parsing,
// validation, the template, redaction, setup's flags and status read.
type Field struct {
	Name     string   // JSON name, the tutorial's
	Synonyms []string // other names accepted in the file
	Flag     string   // setup's flag, without dashes
	// Env is the environment variable setup reads a secret from, so that it
	// need not be given in argv (and that exec strips from a child).
	Env    string
	Secret bool // never shown: masked in status, redacted in messages
	// Show is how status shows a value that is not secret: shown whole,
	// as a URL without user info or query, or as a keyword (hidden when long
	// enough to be a secret pasted into the wrong field).
	Show showAs
	// RequiredFor lists the grant types that cannot do without the field;
	// "*" is every grant.
	RequiredFor []string
	// NotGrant marks a field that no grant a run makes on its own depends on
	// (git-credential's username; the endpoints only login and logout use):
	// editing it is no new credentials, and does not lift a remembered refusal.
	NotGrant bool
	// Generic is what the field is called at an endpoint other than the
	// template's provider's (TemplatePreset), where its words mean nothing: the password grant's "username" and
	// "password" (each also a synonym). "": the field has one name.
	Generic string
	// Sparse leaves the field out of the credentials' fingerprint while it
	// is empty, so that credentials that do not use it keep the fingerprint
	// (and a remembered refusal) they had before the field existed.
	Sparse bool

	get func(*Credentials) *string
}

type showAs int

const (
	showPlain showAs = iota
	showURL
	showKeyword
)

// Fields are credentials.json's fields in template order.
var Fields = []Field{
	{Name: "tokenURL", Flag: "token-url", Show: showURL, get: func(c *Credentials) *string { return &c.TokenURL }},
	{Name: "grantType", Flag: "grant-type", Show: showKeyword, get: func(c *Credentials) *string { return &c.GrantType }},
	{Name: "appID", Synonyms: []string{"clientID"}, Flag: "app-id", RequiredFor: []string{"*"},
		get: func(c *Credentials) *string { return &c.AppID }},
	{Name: "clientSecret", Flag: "client-secret", Env: "TOKENKEEPER_CLIENT_SECRET", Secret: true,
		RequiredFor: []string{GrantPassword, GrantClientCredentials}, // public clients of refresh_token have none
		get:         func(c *Credentials) *string { return &c.ClientSecret }},
	{Name: "companyUUID", Synonyms: []string{"username"}, Generic: "username", Flag: "company-uuid", RequiredFor: []string{GrantPassword},
		get: func(c *Credentials) *string { return &c.CompanyUUID }},
	{Name: "companyRequestToken", Synonyms: []string{"password"}, Generic: "password", Flag: "company-request-token",
		Env: "TOKENKEEPER_COMPANY_REQUEST_TOKEN", Secret: true, RequiredFor: []string{GrantPassword},
		get: func(c *Credentials) *string { return &c.CompanyRequestToken }},
	{Name: "credentialType", Flag: "credential-type", get: func(c *Credentials) *string { return &c.CredentialType }},
	{Name: "scope", Flag: "scope", get: func(c *Credentials) *string { return &c.Scope }},
	{Name: "refreshToken", Flag: "refresh-token", Env: "TOKENKEEPER_REFRESH_TOKEN", Secret: true,
		RequiredFor: []string{GrantRefreshToken}, get: func(c *Credentials) *string { return &c.RefreshToken }},
	{Name: "authStyle", Flag: "auth-style", Show: showKeyword, get: func(c *Credentials) *string { return &c.AuthStyle }},
	{Name: "gitUsername", Flag: "git-username", NotGrant: true, get: func(c *Credentials) *string { return &c.GitUsername }},
	{Name: "gitHost", Flag: "git-host", NotGrant: true, get: func(c *Credentials) *string { return &c.GitHost }},
	{Name: "issuer", Flag: "issuer", Show: showURL, get: func(c *Credentials) *string { return &c.Issuer }},
	{Name: "authURL", Flag: "auth-url", Show: showURL, NotGrant: true, get: func(c *Credentials) *string { return &c.AuthURL }},
	{Name: "deviceAuthURL", Flag: "device-auth-url", Show: showURL, NotGrant: true, get: func(c *Credentials) *string { return &c.DeviceAuthURL }},
	{Name: "revocationURL", Flag: "revocation-url", Show: showURL, NotGrant: true, get: func(c *Credentials) *string { return &c.RevocationURL }},
	{Name: "redirectURL", Flag: "redirect-url", Show: showURL, NotGrant: true, get: func(c *Credentials) *string { return &c.RedirectURL }},
	{Name: "clientAuth", Flag: "client-auth", Show: showKeyword, Sparse: true, get: func(c *Credentials) *string { return &c.ClientAuth }},
	{Name: "clientKey", Flag: "client-key", Sparse: true, get: func(c *Credentials) *string { return &c.ClientKey }},
	{Name: "clientKeyID", Flag: "client-key-id", Sparse: true, get: func(c *Credentials) *string { return &c.ClientKeyID }},
	{Name: "clientCert", Flag: "client-cert", Sparse: true, get: func(c *Credentials) *string { return &c.ClientCert }},
}

// Ptr is the field's value in c, to read or set.
func (f *Field) Ptr(c *Credentials) *string { return f.get(c) }

// FieldNamed returns the field of that JSON name (not a synonym), or nil.
func FieldNamed(name string) *Field {
	for i := range Fields {
		if Fields[i].Name == name {
			return &Fields[i]
		}
	}
	return nil
}

// Word is what c's messages call the field of that canonical name: its
// Generic word at an endpoint other than the template's provider's
// ("username" rather than "companyUUID"), else its name. An unset token URL
// without an issuer is the template's (the tutorial's default endpoint).
func (c *Credentials) Word(name string) string {
	f := FieldNamed(name)
	if f == nil || f.Generic == "" {
		return name
	}
	u := c.TokenURL
	if u == "" && c.Issuer == "" {
		u = DefaultTokenURL
	}
	if PresetOf(u) == TemplatePreset() {
		return name
	}
	return f.Generic
}

// Required reports whether grant cannot do without the field. An unknown
// grant requires only what every grant does.
func (f *Field) Required(grant string) bool {
	for _, g := range f.RequiredFor {
		if g == "*" || g == grant {
			return true
		}
	}
	return false
}

// Secrets returns c's secret values that are set, for a caller that redacts.
func (c *Credentials) Secrets() []string {
	var out []string
	for i := range Fields {
		if v := *Fields[i].get(c); Fields[i].Secret && v != "" {
			out = append(out, v)
		}
	}
	return out
}

// SecretEnv lists the environment variables that carry a secret to tokenkeeper.
func SecretEnv() []string {
	var out []string
	for _, f := range Fields {
		if f.Env != "" && f.Secret {
			out = append(out, f.Env)
		}
	}
	return out
}

// field returns a pointer to the value of the field with the given canonical name.
func (c *Credentials) field(name string) *string {
	if f := FieldNamed(name); f != nil {
		return f.get(c)
	}
	return nil
}
