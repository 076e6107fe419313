package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// The output formats of `token -o` (the one list: usage, errors and the
// writer below all read it). None carries the refresh token: that stays in the
// token file.
const (
	formatRaw            = "raw"
	formatHeader         = "header"
	formatJSON           = "json"
	formatEnv            = "env"
	formatPowerShell     = "powershell"
	formatExecCredential = "exec-credential"
)

var tokenFormats = []string{formatRaw, formatHeader, formatJSON, formatEnv, formatPowerShell, formatExecCredential}

// Environment variables that carry a token to a program: set by exec in the
// child's environment, printed as export lines by `token -o env` and as
// PowerShell assignments by `token -o powershell`.
const (
	envAccessToken = "TOKENKEEPER_ACCESS_TOKEN"
	envAPIBase     = "TOKENKEEPER_API_BASE" // the token's geolocation, where it names one
	envTokenType   = "TOKENKEEPER_TOKEN_TYPE"
	envExpiresAt   = "TOKENKEEPER_EXPIRES_AT"
)

// tokenEnv is the token as environment variables, in a stable order; the API
// base only where the token names one.
func tokenEnv(tok *refresh.Token) [][2]string {
	env := [][2]string{
		{envAccessToken, tok.AccessToken},
		{envTokenType, tokenType(tok)},
		{envExpiresAt, tok.Expiry.UTC().Format(time.RFC3339)},
	}
	if base := apiBase(tok); base != "" {
		env = append(env, [2]string{envAPIBase, strings.TrimRight(base, "/")})
	}
	return env
}

// apiBase is the token's geolocation as the API base handed on (exec's
// TOKENKEEPER_API_BASE, token -o env/json, serve), where scripts send the
// access token: only a URL a token may be sent to (credentials.CheckTokenURL),
// never text a shared store's other writer put there; status shows the rest
// as it is (not a URL).
func apiBase(tok *refresh.Token) string {
	if tok.Geolocation == "" || credentials.CheckTokenURL(tok.Geolocation) != nil {
		return ""
	}
	return tok.Geolocation
}

// tokenJSON is the body of `token -o json` and of `serve`'s GET /token.
type tokenJSON struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresAt   string `json:"expires_at"` // RFC 3339, UTC: the access token's own expiry
	Scope       string `json:"scope,omitempty"`
	Geolocation string `json:"geolocation,omitempty"` // the API base URL the token names
}

func newTokenJSON(tok *refresh.Token) tokenJSON {
	return tokenJSON{
		AccessToken: tok.AccessToken,
		TokenType:   tokenType(tok),
		ExpiresAt:   tok.Expiry.UTC().Format(time.RFC3339),
		Scope:       tok.Scope,
		Geolocation: apiBase(tok),
	}
}

// execCredential is a Kubernetes client.authentication.k8s.io/v1
// ExecCredential, what kubectl's exec credential plugins print.
type execCredential struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Status     execCredentialStatus `json:"status"`
}

type execCredentialStatus struct {
	// ExpirationTimestamp is when tokenkeeper itself would renew the token
	// (its expiry less the margin): kubectl caches the token until then and
	// runs the plugin again after, so it never sends a token in its last
	// minute, and tokenkeeper renews when kubectl asks.
	ExpirationTimestamp string `json:"expirationTimestamp"`
	Token               string `json:"token"`
}

// writeToken prints tok in one of tokenFormats. margin is the renewal margin:
// formats for tools that cache the token (exec-credential) say to ask again
// when tokenkeeper would renew it.
func writeToken(w io.Writer, format string, tok *refresh.Token, margin time.Duration) error {
	// tok.AccessToken is visible ASCII, no line break: the refresh package
	// hands out no other (Token.Valid, checkAccessToken), so every line-based
	// format (and git's protocol) is safe.
	switch format {
	case formatRaw, "":
		_, err := fmt.Fprintf(w, "%s\n", tok.AccessToken)
		return err
	case formatHeader:
		_, err := fmt.Fprintf(w, "Authorization: Bearer %s\n", tok.AccessToken)
		return err
	case formatJSON:
		return writeJSON(w, newTokenJSON(tok))
	case formatEnv:
		var b strings.Builder
		for _, kv := range tokenEnv(tok) {
			fmt.Fprintf(&b, "export %s=%s\n", kv[0], singleQuote(kv[1]))
		}
		_, err := io.WriteString(w, b.String())
		return err
	case formatPowerShell:
		var b strings.Builder
		for _, kv := range tokenEnv(tok) {
			fmt.Fprintf(&b, "$env:%s = %s\n", kv[0], psQuote(kv[1]))
		}
		_, err := io.WriteString(w, b.String())
		return err
	case formatExecCredential:
		return writeJSON(w, execCredential{
			APIVersion: "client.authentication.k8s.io/v1",
			Kind:       "ExecCredential",
			Status: execCredentialStatus{
				Token:               tok.AccessToken,
				ExpirationTimestamp: cacheUntil(tok, margin, time.Now()).UTC().Format(time.RFC3339),
			},
		})
	}
	return fmt.Errorf("unknown output format %q", format) // parsing refused it already
}

// unknownExpiryCache is how long a tool may cache a token of unknown expiry.
const unknownExpiryCache = time.Minute

// cacheUntil is how long a tool may cache tok: until tokenkeeper would renew
// it; or, for a token handed out because its renewal failed for now (already
// within the margin), until its expiry, so that the tool does not call again on
// every request; or, for a token whose expiry is unknown (handed out once,
// renewed on its next use), a minute: the zero time would read as year 1 to
// kubectl and, as git parses password_expiry_utc unsigned, as never to git.
//
// Tools are told whole seconds (RFC 3339, Unix time), so the instant is
// rounded up to one, never past the expiry: rounded down, a renewal instant
// that is not a whole second (the margin capped at half a short token's
// lifetime, counted from obtained_at in milliseconds) would have the tool ask
// again up to a second before tokenkeeper renews, and be handed the same token
// with the same, now past, time, again and again.
func cacheUntil(tok *refresh.Token, margin time.Duration, now time.Time) time.Time {
	if tok.Expiry.IsZero() {
		return now.Add(unknownExpiryCache)
	}
	t := tok.RenewAt(margin)
	if !t.After(now) {
		return tok.Expiry
	}
	if s := t.Truncate(time.Second); s.Before(t) {
		t = s.Add(time.Second)
	}
	if t.After(tok.Expiry) {
		return tok.Expiry
	}
	return t
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func tokenType(tok *refresh.Token) string {
	if tok.TokenType == "" {
		return "Bearer"
	}
	return tok.TokenType
}

// singleQuote quotes s for POSIX shells, always: single quotes, in which
// nothing is special but the single quote itself, written as '\”. (setup's
// shellQuote leaves words it knows to be plain unquoted, for readability.)
func singleQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// psQuote is s as a PowerShell single-quoted string, in which nothing is
// expanded: a quote is doubled, and PowerShell takes the typographic single
// quotes (U+2018 to U+201B) for quotes too, so they are doubled as well.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		if r == '\'' || r >= '\u2018' && r <= '\u201b' {
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}

// outputFlag registers -o and its long form --output on fs.
func outputFlag(fs *pflag.FlagSet) *string {
	format := fs.StringP("output", "o", formatRaw, "print the token as `FORMAT`: "+strings.Join(tokenFormats, ", "))
	_ = fs.SetAnnotation("output", completeAnnotation, tokenFormats)
	return format
}

// checkFormat checks -o, and folds --header into it.
func checkFormat(format *string, header bool) error {
	if !slices.Contains(tokenFormats, *format) {
		return usageErr(fmt.Sprintf("token: unknown output format %q", *format),
			"use -o with one of: "+strings.Join(tokenFormats, ", "))
	}
	if header {
		if *format != formatRaw && *format != formatHeader {
			return usageErr(fmt.Sprintf("token: --header and -o %s ask for two formats", *format), "give one of them")
		}
		*format = formatHeader
	}
	return nil
}
