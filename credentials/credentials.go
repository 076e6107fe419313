package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// FileName is the name of the credentials file inside a profile directory.
const FileName = "credentials.json"

// DefaultTokenURL is the endpoint the tutorial hard-codes (SAP Concur, US).
const DefaultTokenURL = "https://us.api.concursolutions.com/oauth2/v0/token"

// Grant types: how a fresh token is obtained when there is no usable refresh
// token.
const (
	GrantPassword          = "password"
	GrantClientCredentials = "client_credentials"
	GrantRefreshToken      = "refresh_token"
)

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

	Path     string   `json:"-"` // resolved absolute path loaded from or saved to
	Warnings []string `json:"-"` // e.g. unknown field "appId" (did you mean "appID"?)

	// hints maps a canonical field name to the unknown key in the file that
	// looks like it, so that "appID: required, not set" can point at "appId".
	hints map[string]string
}

// Template returns the file written on first run: SPEC §1's template,
// indented by two spaces, with a trailing newline.
func Template() []byte {
	c := &Credentials{
		TokenURL:       DefaultTokenURL,
		GrantType:      GrantPassword,
		CredentialType: "authtoken",
		AuthStyle:      AuthParams,
	}
	return c.marshal()
}

// marshal encodes all ten fields in template order. HTML escaping is off so
// that a token URL with a query keeps its "&" readable.
func (c *Credentials) marshal() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		panic("credentials: encode: " + err.Error()) // ten strings cannot fail
	}
	return b.Bytes()
}

// WriteTemplate creates path with Template() (mode 0600, missing parent
// directories 0700) and reports whether it did. An existing file — whatever it
// holds, even one that does not parse — is left alone and reported as
// created=false with a nil error; O_EXCL makes this hold against a concurrent
// writer too.
func WriteTemplate(path string) (created bool, err error) {
	path = absPath(path)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("credentials: write template: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("credentials: write template: %w", err)
	}
	_, err = f.Write(Template())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// The file is ours (O_EXCL): remove it rather than leave a torn
		// template that would later be refused as unparseable.
		os.Remove(path)
		return false, fmt.Errorf("credentials: write template %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	return true, nil
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
		if !reported[p.Field] {
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
		return nil, fmt.Errorf("credentials: %s: file is larger than %d bytes; is it the right file?", path, storage.MaxFileSize)
	case errors.As(err, &re):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("credentials: %w", errors.Unwrap(err)) // *PathError names path
	}
	return data, nil
}

// Save writes all ten fields, indented, in template order, atomically
// (renameio: a temporary file in the same directory, fsync, rename), mode
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
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(path); err == nil {
			path = target
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials: save: %w", err)
	}
	if err := writeAtomic(path, c.marshal()); err != nil {
		return fmt.Errorf("credentials: save %s: %w", path, err)
	}
	syncDir(dir)
	c.Path = path
	return nil
}

// writeAtomic is renameio.WriteFile without WithExistingPermissions (a
// credentials file is 0600 even if it was 0644 before) and with the temporary
// file in the target's directory, never in a shared $TMPDIR.
func writeAtomic(path string, data []byte) error {
	t, err := renameio.NewPendingFile(path,
		renameio.WithTempDir(filepath.Dir(path)),
		renameio.WithStaticPermissions(0o600))
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := t.Write(data); err != nil {
		return err
	}
	return t.CloseAtomicallyReplace()
}

// syncDir makes a new directory entry durable. Best effort: some file
// systems refuse fsync on a directory, and the data is already safe.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
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
// "set (N chars)" or "not set", tokenURL without user info, query or fragment,
// and grantType and authStyle hidden when too long to be a keyword.
func (c *Credentials) Redacted() map[string]string {
	return map[string]string{
		"tokenURL":            redactURL(c.TokenURL),
		"grantType":           short(c.GrantType),
		"appID":               c.AppID,
		"clientSecret":        mask(c.ClientSecret),
		"companyUUID":         c.CompanyUUID,
		"companyRequestToken": mask(c.CompanyRequestToken),
		"credentialType":      c.CredentialType,
		"scope":               c.Scope,
		"refreshToken":        mask(c.RefreshToken),
		"authStyle":           short(c.AuthStyle),
	}
}

// redactURL drops what may hold a secret from a URL: user info, and the
// query and fragment, shown as "?…" and "#…".
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("(not a URL, %d characters)", len(raw))
	}
	s := display(u)
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	if strings.Contains(raw, "#") {
		s += "#…"
	}
	return s
}

// short shows a field that should hold a short keyword, unless it is long
// enough to be a secret pasted into the wrong field.
func short(v string) string {
	if len(v) > 32 {
		return fmt.Sprintf("(a %d-character value)", len(v))
	}
	return v
}

func mask(secret string) string {
	if secret == "" {
		return "not set"
	}
	return fmt.Sprintf("set (%d chars)", len([]rune(secret)))
}

// String is redacted, so that printing a *Credentials by mistake (%v, %+v,
// %s) in a log line leaks no secret.
func (c Credentials) String() string {
	r := c.Redacted()
	var b strings.Builder
	b.WriteString("{")
	for i, name := range fieldNames {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%q", name, r[name])
	}
	b.WriteString("}")
	return b.String()
}

// GoString keeps %#v redacted too.
func (c Credentials) GoString() string { return "credentials.Credentials" + c.String() }
