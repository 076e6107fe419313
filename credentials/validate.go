package credentials

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/internal/editdist"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

var (
	grantTypes  = []string{GrantPassword, GrantClientCredentials, GrantRefreshToken, GrantAuthorizationCode, GrantDeviceCode}
	authStyles  = []string{AuthParams, AuthHeader, AuthAuto}
	clientAuths = []string{AuthSecretBasic, AuthSecretPost, AuthPrivateKeyJWT, AuthTLS, AuthSelfSignedTLS}
)

// Validate checks c and returns nil or an *InvalidError naming every
// problem at once, in template order. It matches ErrIncomplete when a
// required field is not set. Empty tokenURL, grantType and authStyle mean
// their defaults, as in Parse. Messages never contain a secret.
func (c *Credentials) Validate() error {
	if ps := c.problems(); len(ps) > 0 {
		return &InvalidError{Path: c.Path, Problems: ps}
	}
	return nil
}

// Missing returns the names of the fields that the grant type requires and
// that are empty, in template order. An unknown grant type requires appID
// only.
func (c *Credentials) Missing() []string {
	var out []string
	for _, f := range Fields {
		if c.requires(&f) && strings.TrimSpace(*f.get(c)) == "" {
			out = append(out, f.Name)
		}
	}
	return out
}

// requires reports whether c cannot do without f: the grant's fields, but
// a client that authenticates with a key needs that key (and, over TLS, its
// certificate) instead of a secret.
func (c *Credentials) requires(f *Field) bool {
	switch f.Name {
	case "clientSecret":
		return f.Required(c.grant()) && !c.KeyAuth()
	case "clientKey":
		return c.KeyAuth()
	case "clientCert":
		return c.TLSAuth()
	}
	return f.Required(c.grant())
}

func (c *Credentials) grant() string {
	if c.GrantType == "" {
		return GrantPassword
	}
	return c.GrantType
}

func (c *Credentials) problems() []Problem {
	missing := make(map[string]bool)
	for _, name := range c.Missing() {
		missing[name] = true
	}
	var ps []Problem
	for _, f := range Fields {
		name, v := f.Name, *f.get(c)
		switch {
		case missing[name]:
			ps = append(ps, Problem{Field: c.Word(name), Msg: c.missingMsg(&f), missing: true})
		case hasControl(v):
			ps = append(ps, Problem{Field: name, Msg: "contains a line break or other control character"})
		default:
			if msg := c.check(name, v); msg != "" {
				ps = append(ps, Problem{Field: name, Msg: msg})
			}
		}
	}
	return ps
}

func (c *Credentials) missingMsg(f *Field) string {
	msg := "required, not set"
	switch {
	case f.Name == "clientKey" || f.Name == "clientCert":
		msg = fmt.Sprintf("required for clientAuth %q, not set (the path of a PEM file)", c.ClientAuth)
	case !f.Required(""): // not one every grant needs: say which grant does
		msg = fmt.Sprintf("required for grantType %q, not set", c.grant())
	}
	if key, ok := c.hints[f.Name]; ok {
		msg += fmt.Sprintf(" (the file has an unknown field %q: rename it to %q)", key, c.Word(f.Name))
	}
	return msg
}

// check applies the rules for the value of one field; "" means fine.
func (c *Credentials) check(name, v string) string {
	switch name {
	case "tokenURL", "issuer", "revocationURL":
		if v == "" {
			return ""
		}
		return TokenURLProblem(v)
	case "authURL", "deviceAuthURL":
		if v == "" {
			return c.endpointNeeded(name)
		}
		return TokenURLProblem(v)
	case "redirectURL":
		if v == "" {
			return ""
		}
		return checkRedirectURL(v)
	case "grantType":
		return oneOf("grant type", c.grant(), grantTypes)
	case "authStyle":
		if v == "" {
			return ""
		}
		return oneOf("auth style", v, authStyles)
	case "clientAuth":
		return c.checkClientAuth(v)
	case "clientKeyID":
		// A key ID is a short word. Whether a key or certificate file is
		// there, private and parses is LoadClientKey's, when a request is
		// about to be made: a run that finds its token valid reads no key.
		if len(v) > 256 {
			return "longer than 256 characters; want the key's ID as the provider knows it"
		}
	case "clientKey":
		if keyMaterial(v) {
			return "holds a key, not the path of a key file: put the PEM in a file only you can read (chmod 600) and set clientKey to its path"
		}
	}
	return ""
}

// keyMaterial reports whether a clientKey value is the key itself, pasted
// where its path goes: PEM on one line, or the base64 of its DER (which
// begins with "M", a SEQUENCE). Messages then never quote the value, as
// they quote a path.
func keyMaterial(v string) bool {
	if strings.Contains(v, "-----BEGIN") || strings.Contains(v, "PRIVATE KEY") {
		return true
	}
	if len(v) < 60 || v[0] != 'M' {
		return false
	}
	return strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") == ""
}

// checkClientAuth: a known method, by its OAuth name; a key or certificate
// with no method to use them is a mistake the user must settle (a secret
// would be sent, or nothing), not a guess of ours.
func (c *Credentials) checkClientAuth(v string) string {
	if v == "" {
		if c.ClientKey != "" || c.ClientCert != "" {
			return fmt.Sprintf("not set, but clientKey or clientCert is: set clientAuth to %q (a signed assertion) or %q / %q (a TLS client certificate)",
				AuthPrivateKeyJWT, AuthTLS, AuthSelfSignedTLS)
		}
		return ""
	}
	msg := oneOf("client authentication method", v, clientAuths)
	if msg != "" && !strings.Contains(msg, "did you mean") {
		if near := editdist.Nearest(v, clientAuths); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
	}
	return msg
}

// endpointNeeded reports an interactive grant with neither its endpoint nor
// an issuer to discover it from.
func (c *Credentials) endpointNeeded(name string) string {
	if c.Issuer != "" {
		return ""
	}
	if (name == "authURL" && c.grant() == GrantAuthorizationCode) || (name == "deviceAuthURL" && c.grant() == GrantDeviceCode) {
		return fmt.Sprintf("required for grantType %q unless issuer is set, not set", c.grant())
	}
	return ""
}

// checkRedirectURL: the loopback listener only ever binds a loopback
// address, over http (RFC 8252 §7.3).
func checkRedirectURL(raw string) string {
	if msg := TokenURLProblem(raw); msg != "" {
		return msg
	}
	u, _ := url.Parse(raw)
	if u.Scheme != "http" || !isLoopback(u.Hostname()) {
		return fmt.Sprintf("%q: want a loopback address like \"http://127.0.0.1:8400/callback\" (tokenkeeper listens there for the browser)", redact.URL(raw))
	}
	return ""
}

func oneOf(what, v string, allowed []string) string {
	for _, a := range allowed {
		if v == a {
			return ""
		}
	}
	msg := fmt.Sprintf("unknown %s %s; want one of %s", what, quoteShort(v), strings.Join(allowed, ", "))
	for _, a := range allowed {
		if normalise(v) == normalise(a) {
			msg += fmt.Sprintf(" (did you mean %q?)", a)
		}
	}
	return msg
}

// quoteShort quotes a non-secret value, unless it is long enough to be a
// secret pasted into the wrong field.
func quoteShort(v string) string {
	if s := short(v); s != v {
		return s
	}
	return fmt.Sprintf("%q", v)
}

func hasControl(s string) bool {
	// C1 controls too (U+0080-U+009F): U+009B is CSI to many terminals,
	// and none belongs in an ID, a URL or a secret.
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 })
}

// TokenURLProblem is what the tokenURL rule finds wrong with raw, in words
// that follow the URL's role ("token_endpoint: …"), "" when nothing is: an
// absolute https URL, or http on a loopback host (a local test endpoint),
// without credentials or a fragment. The URL shown in the words has no user
// info and no query, either of which may hold a secret.
func TokenURLProblem(raw string) string {
	if msg := checkScheme(raw); msg != "" {
		return msg
	}
	u, err := url.Parse(raw)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			return "not a valid URL: " + uerr.Err.Error()
		}
		return "not a valid URL"
	}
	shown := fmt.Sprintf("%q", redact.URL(raw))
	switch {
	case u.User != nil:
		return "must not contain a user name or password; put the client's in appID and clientSecret"
	case !u.IsAbs() || u.Hostname() == "":
		return fmt.Sprintf("%s is not an absolute URL; want one like %q", shown, "https://auth.example.com/oauth2/token")
	case strings.Contains(raw, "#"):
		return shown + " must not contain a fragment (#…)"
	case strings.HasSuffix(u.Host, ":"):
		// Go's client would send it to the scheme's port (80 for http):
		// not what a URL whose port was lost in editing meant.
		return shown + " has an empty port (\"host:\"); give the port, or leave out the colon for the scheme's"
	case u.Port() != "" && !validPort(u.Port()):
		return fmt.Sprintf("%s: port %s is not one of 1 to 65535", shown, u.Port())
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return ""
	case u.Scheme == "http":
		return shown + " uses http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost): secrets would travel in clear text; use https://"
	}
	return fmt.Sprintf("%s: scheme %q not supported; use https://", shown, u.Scheme)
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// checkScheme catches a URL written without its scheme ("host/path",
// "127.0.0.1:8080/token"), which url.Parse either refuses with a parser error
// or reads as a scheme named after the host, and says what to write instead.
func checkScheme(raw string) string {
	lower := strings.ToLower(raw)
	if raw == "" || strings.Contains(raw, "://") || strings.HasPrefix(raw, "/") ||
		strings.HasPrefix(lower, "https:") || strings.HasPrefix(lower, "http:") {
		return ""
	}
	shown := raw
	if i := strings.IndexAny(shown, "?#"); i >= 0 { // a query may hold a secret
		shown = shown[:i]
	}
	// So may user info; and a value that does not begin with a host name
	// is no URL at all, but most likely a secret pasted into the wrong field.
	if strings.Contains(shown, "@") || !hostLike(shown) {
		return "has no scheme (https://); want one like " + fmt.Sprintf("%q", DefaultTokenURL)
	}
	return fmt.Sprintf("%q has no scheme; want %q (http:// only for a loopback host)", shown, "https://"+shown)
}

// hostLike reports whether s begins with what may be a host, up to its first
// '/': an IP address or localhost, or a DNS name of two labels or more (each
// of letters, digits and '-', at most 63 bytes), with an optional port.
func hostLike(s string) bool {
	host, _, _ := strings.Cut(s, "/")
	if h, port, err := net.SplitHostPort(host); err == nil {
		if _, perr := strconv.ParseUint(port, 10, 16); perr != nil && port != "" {
			return false
		}
		host = h
	}
	if _, err := netip.ParseAddr(host); err == nil || isLoopback(host) {
		return true
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(labels) < 2 || len(host) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
			return false
		}
	}
	return true
}
