package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// FileName is the name of the credentials file inside a profile directory.
const FileName = storage.CredentialsFileName

// DefaultTokenURL is the endpoint the tutorial hard-codes (its provider's US region).
const DefaultTokenURL = "https://us.api.concursolutions.com/oauth2/v0/token"

// Grant types: how a fresh token is obtained when there is no usable refresh
// token.
const (
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
	// A person starts these grants with tokenkeeper login (docs/contract.md §7).
	GrantAuthorizationCode = "authorization_code"
	GrantDeviceCode        = "device_code"
)

// Interactive reports whether grant is started by a person (tokenkeeper
// login) rather than from a secret in the file.
func Interactive(grant string) bool {
	return grant == GrantAuthorizationCode || grant == GrantDeviceCode
}

// Client authentication methods (clientAuth), by their names in RFC 7591's
// token_endpoint_auth_method registry.
const (
	AuthSecretBasic   = "client_secret_basic" // HTTP Basic: authStyle header
	AuthSecretPost    = "client_secret_post"  // in the form: authStyle params
	AuthPrivateKeyJWT = "private_key_jwt"     // a signed assertion (RFC 7523 §2.2)
	AuthTLS           = "tls_client_auth"     // a CA-issued client certificate (RFC 8705 §2.1)
	AuthSelfSignedTLS = "self_signed_tls_client_auth"
)

// KeyAuth reports whether c authenticates the client with clientKey rather
// than a secret.
func (c *Credentials) KeyAuth() bool {
	return c.ClientAuth == AuthPrivateKeyJWT || c.TLSAuth()
}

// TLSAuth reports whether c authenticates the client with a TLS client
// certificate (RFC 8705).
func (c *Credentials) TLSAuth() bool { return TLSMethod(c.ClientAuth) }

// TLSMethod reports whether the clientAuth method presents a TLS client
// certificate (RFC 8705).
func TLSMethod(method string) bool { return method == AuthTLS || method == AuthSelfSignedTLS }

// SecretStyle is where a client secret goes: clientAuth's
// client_secret_basic or client_secret_post when set (the OAuth names win),
// else authStyle.
func (c *Credentials) SecretStyle() string {
	switch c.ClientAuth {
	case AuthSecretBasic:
		return AuthHeader
	case AuthSecretPost:
		return AuthParams
	}
	return c.AuthStyle
}

// Auth styles: where the client credentials go in a token request.
const (
	AuthParams = "params" // client_id/client_secret in the form body
	AuthHeader = "header" // HTTP Basic
	AuthAuto   = "auto"   // probe once with the bootstrap grant
)

// Credentials is the content of credentials.json. The JSON names are the
// tutorial's, in the template's order.
type Credentials struct {
	TokenURL            string `json:"tokenURL"`
	GrantType           string `json:"grantType"`
	AppID               string `json:"appID"`
	ClientSecret        string `json:"clientSecret"`
	CompanyUUID         string `json:"companyUUID"`
	CompanyRequestToken string `json:"companyRequestToken"`
	CredentialType      string `json:"credentialType"`
	Scope               string `json:"scope"`
	RefreshToken        string `json:"refreshToken"`
	AuthStyle           string `json:"authStyle"`
	// GitUsername is the username `tokenkeeper git-credential` gives git with
	// the access token as password; empty: the provider's convention. Not in
	// the template, and saved only when set.
	GitUsername string `json:"gitUsername,omitempty"`
	// GitHost is the host (host[:port], as git names it) to which
	// git-credential hands the access token; empty: the token endpoint's host.
	// A token is never handed to another host. Saved only when set.
	GitHost string `json:"gitHost,omitempty"`

	// docs/contract.md §7: a grant started by a person. omitempty keeps the tutorial's
	// template as it is.
	Issuer        string            `json:"issuer,omitempty"`
	AuthURL       string            `json:"authURL,omitempty"`
	DeviceAuthURL string            `json:"deviceAuthURL,omitempty"`
	RevocationURL string            `json:"revocationURL,omitempty"`
	RedirectURL   string            `json:"redirectURL,omitempty"`
	AuthParams    map[string]string `json:"authParams,omitempty"`

	// Client authentication without a shared secret (docs/providers.md,
	// "Client authentication"): the method, and the PEM files it uses.
	ClientAuth  string `json:"clientAuth,omitempty"`
	ClientKey   string `json:"clientKey,omitempty"`
	ClientKeyID string `json:"clientKeyID,omitempty"`
	ClientCert  string `json:"clientCert,omitempty"`

	Path     string   `json:"-"` // resolved absolute path loaded from or saved to
	Warnings []string `json:"-"` // e.g. unknown field "appId" (did you mean "appID"?)

	// hints maps a canonical field name to the unknown key in the file that
	// looks like it, so that "appID: required, not set" can point at "appId".
	hints map[string]string
}

// Template returns the file written on first run: the tutorial's fields in its
// order (docs/contract.md §1; docs/getting-started.md shows it filled in), indented by two spaces, with a trailing newline.
func Template() []byte {
	c := &Credentials{TokenURL: DefaultTokenURL, AuthStyle: AuthParams}
	if err := TemplatePreset().Apply(c, ""); err != nil {
		panic("credentials: template: " + err.Error())
	}
	return c.marshal()
}

// marshal encodes the fields in template order. HTML escaping is off so
// that a token URL with a query keeps its "&" readable.
func (c *Credentials) marshal() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		panic("credentials: encode: " + err.Error()) // strings cannot fail
	}
	return b.Bytes()
}

// WriteTemplate creates path with Template() (mode 0600, missing parent
// directories 0700) and reports whether it did. An existing file — whatever it
// holds, even one that does not parse — is left alone and reported as
// created=false with a nil error; O_EXCL makes this hold against a concurrent
// writer too.
func WriteTemplate(path string) (created bool, err error) {
	created, err = storage.CreateFile(absPath(path), Template())
	if err != nil {
		return false, fmt.Errorf("credentials: write template: %w", err)
	}
	return created, nil
}

// Load reads, parses and validates the file at path. A missing file gives an
// error matching fs.ErrNotExist; a file that is not a JSON object a
// *SyntaxError; wrong types, conflicting synonyms and invalid or missing
// fields one *InvalidError listing them all.
func Load(path string) (*Credentials, error) {
	path = absPath(path)
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	c, problems, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	problems = mergeProblems(problems, c.problems())
	if len(problems) > 0 {
		return nil, &InvalidError{Path: path, Problems: problems}
	}
	return c, nil
}

// mergeProblems appends Validate's problems to Parse's, dropping those about
// a field Parse already reported: a field with a number in it is wrong, not
// also "not set".
func mergeProblems(parsed, validated []Problem) []Problem {
	reported := make(map[string]bool)
	for _, p := range parsed {
		reported[canonical(p.Field)] = true
	}
	for _, p := range validated {
		if !reported[canonical(p.Field)] {
			parsed = append(parsed, p)
		}
	}
	return parsed
}

// readFile reads path through storage.ReadFile: never blocking on a FIFO, a
// regular file only (else a *storage.RecordError naming it), capped.
func readFile(path string) ([]byte, error) {
	data, err := storage.ReadFile(path)
	var re *storage.RecordError
	switch {
	case errors.Is(err, storage.ErrTooLarge):
		return nil, &FileError{Path: path, Err: fmt.Errorf("%s: file is larger than %d bytes; is it the right file?", path, storage.MaxFileSize)}
	case errors.As(err, &re):
		return nil, &FileError{Path: path, Err: re} // not a regular file of this user
	case err != nil:
		if u := errors.Unwrap(err); u != nil {
			err = u // storage's prefix off: a *PathError names the path
		}
		return nil, &FileError{Path: path, Err: err}
	}
	return data, nil
}

// Save writes all ten fields, indented, in template order, atomically
// (storage.WriteFile: a temporary file in the same directory, fsync, rename), mode
// 0600 whatever the old file's mode was, creating the directory 0700. A
// symbolic link at path is followed, so a file kept elsewhere (a dotfiles
// repository) is updated in place rather than replaced by a regular file.
// An empty path means c.Path. On success c.Path is the absolute path.
// Save does not validate: the setup wizard saves partial files on purpose.
func (c *Credentials) Save(path string) error {
	if path == "" {
		path = c.Path
	}
	if path == "" {
		return errors.New("credentials: save: no path")
	}
	path = absPath(path)
	if err := storage.WriteFile(path, c.marshal()); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target // storage replaced the link's target
	}
	c.Path = path
	return nil
}

func absPath(path string) string {
	if path == "" {
		return ""
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// Redacted returns every field by its JSON name for display (`status`), with
// clientSecret, companyRequestToken and refreshToken replaced by
// "set (N chars)" or "not set", tokenURL with query values, fragment and user
// info masked (redact.URL),
// and grantType and authStyle hidden when too long to be a keyword.
func (c *Credentials) Redacted() map[string]string {
	out := make(map[string]string, len(Fields))
	for _, f := range Fields {
		v := *f.get(c)
		switch {
		case f.Secret:
			v = redact.Mask(v)
		case f.Show == showURL:
			v = redact.URL(v)
		case f.Show == showKeyword:
			v = short(v)
		}
		out[f.Name] = v
	}
	return out
}

// short shows a field that should hold a short keyword, unless it is long
// enough to be a secret pasted into the wrong field.
func short(v string) string {
	if len(v) > 32 {
		return fmt.Sprintf("(a %d-character value)", len(v))
	}
	return v
}

// String is redacted, so that printing a *Credentials by mistake (%v, %+v,
// %s) in a log line leaks no secret.
func (c Credentials) String() string {
	r := c.Redacted()
	var b strings.Builder
	b.WriteString("{")
	for i, f := range Fields {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%q", f.Name, r[f.Name])
	}
	b.WriteString("}")
	return b.String()
}

// GoString keeps %#v redacted too.
func (c Credentials) GoString() string { return "credentials.Credentials" + c.String() }
