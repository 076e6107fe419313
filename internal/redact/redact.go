// Package redact owns what tokenkeeper hides in the text it shows — messages,
// logs, status — so that refresh (endpoint text, errors) and the CLI (every line
// it prints) hide the same things the same way (docs/contract.md §2, "Secrets in URLs").
//
// Three rules live here, and nowhere else (the third, Terminal, in
// terminal.go):
//
//   - URLs: every URL shown goes through URL, which keeps scheme, host, path and
//     query keys, and masks query values, the fragment and any user info
//     (`?api_key=abc` → `?api_key=[redacted]`). A secret pasted into a tokenURL's
//     query, or a geolocation that carries one, never reaches a terminal.
//     A store's URL (several hosts, query values that are paths) goes through
//     StoreURL, which masks the same things and keeps the values named safe.
//   - Secrets: a secret is hidden in every encoding in which tokenkeeper sends it
//     or an endpoint may echo it back: as is, form-encoded (url.QueryEscape, as
//     in the request body; and path-escaped; upper- and lower-case hex),
//     JSON- and HTML-escaped, and the HTTP Basic value base64(id:secret) in the
//     standard and the URL-safe alphabet (Forms, Basic). Before matching,
//     `\uXXXX` and `\/` escapes in the text are decoded, so a secret that
//     another JSON encoder escaped (.NET writes `+` as `\u002B`) is still found;
//     text in which no escaped secret hides keeps its escapes.
//   - Controls: text shown goes through Terminal last, which escapes every
//     character that is not printable (ESC and the other controls, bidi
//     overrides, bytes that are not UTF-8), whatever the text's source.
//
// Short secrets. A value of fewer than MinAnywhere bytes is redacted only where
// it stands as a whole token — not preceded or followed by a letter, digit or
// '_' when its own first or last character is one — so that a 4-character
// secret "prof" does not turn "--profile" into "--[redacted]ile", which would
// both mangle the message and show where the secret is. Longer values are
// redacted wherever they occur. Real client secrets and tokens are far longer;
// a short one is still hidden where it appears on its own (`secret=prof`).
//
// Caveat: matching is on exact encodings. A secret split across lines, or
// encoded in a way not listed above (base64 of the secret alone, double
// form-encoding), or cut short before it reaches Text, is not recognised:
// readers of endpoint text redact first and cut after.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Mark replaces what is hidden.
const Mark = "[redacted]"

// MinAnywhere is the length from which a secret is redacted wherever it occurs;
// shorter ones only as whole tokens (see the package doc).
const MinAnywhere = 8

// URL returns raw as it may be shown: scheme, host, path and query keys as
// they are; query values, the fragment, user info and an opaque part replaced
// by Mark. Text that does not parse as a URL is not shown at all, only its
// length.
func URL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("(not a URL, %d characters)", len(raw))
	}
	if u.Opaque != "" {
		return u.Scheme + ":" + Mark
	}
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
	s := v.String()
	if u.User != nil {
		if i := strings.Index(s, "//"); i >= 0 {
			s = s[:i+2] + Mark + "@" + s[i+2:]
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		s += "?" + query(u.RawQuery)
	}
	if u.Fragment != "" {
		s += "#" + Mark
	}
	return s
}

// query masks every value of a raw query, and a key that does not look like
// one (too long, or with characters no parameter name has).
func query(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, v, hasValue := strings.Cut(p, "=")
		switch {
		case p == "":
		case !hasValue: // "?abc": a bare value is as likely a secret as a key
			parts[i] = Mark
		case !isKey(k):
			parts[i] = Mark + "=" + Mark
		case v == "":
			parts[i] = k + "="
		default:
			parts[i] = k + "=" + Mark
		}
	}
	return strings.Join(parts, "&")
}

func isKey(k string) bool {
	if k == "" || len(k) > 40 {
		return false
	}
	for _, r := range k {
		if !(r < utf8.RuneSelf && (r == '_' || r == '-' || r == '.' || r == '[' || r == ']' || unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// Forms returns secret and the encodings in which it may be sent or echoed:
// form-encoded (as in a request body) and path-escaped, each with upper- and
// lower-case hex, JSON-escaped, and HTML-escaped. Empty for an empty secret.
func Forms(secret string) []string {
	if secret == "" {
		return nil
	}
	out := []string{secret}
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, e := range []string{url.QueryEscape(secret), url.PathEscape(secret)} {
		add(e)
		add(lowerHex(e))
	}
	add(html.EscapeString(secret)) // an endpoint that answers in HTML or XML
	for _, escapeHTML := range []bool{false, true} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(secret) == nil {
			add(strings.TrimSuffix(strings.TrimSpace(b.String()), `"`)[1:])
		}
	}
	return out
}

// lowerHex rewrites the %XX escapes of s with lower-case hex digits.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
			i += 2
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Basic returns the HTTP Basic credentials value for id and secret — as sent
// (RFC 6749 §2.3.1: each part form-encoded first), and as other clients send it
// (not encoded) — in base64's standard and URL-safe alphabets, without padding
// (the padded value begins with the unpadded one). Empty when secret is.
func Basic(id, secret string) []string {
	if secret == "" {
		return nil
	}
	var out []string
	for _, pair := range []string{url.QueryEscape(id) + ":" + url.QueryEscape(secret), id + ":" + secret} {
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if v := enc.EncodeToString([]byte(pair)); !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// Add returns list with the Forms of each value added, without duplicates,
// longest first: a secret that contains another is then redacted whole, not
// around the shorter one. Basic's values go in through Add too.
func Add(list []string, values ...string) []string {
	for _, v := range values {
		for _, f := range Forms(v) {
			if !slices.Contains(list, f) {
				list = append(list, f)
			}
		}
	}
	slices.SortStableFunc(list, func(x, y string) int { return len(y) - len(x) })
	return list
}

// Text returns s with every value of secrets (a list made by Add) replaced by
// Mark, by the rules of the package doc. Text in which no escaped secret hides
// keeps its escapes: a JSON body stays JSON.
func Text(s string, secrets []string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	s = replace(s, secrets)
	if u := unescape(s); u != s {
		if r := replace(u, secrets); r != u {
			s = r
		}
	}
	return s
}

func replace(s string, secrets []string) string {
	for _, v := range secrets {
		if v == "" || !strings.Contains(s, v) {
			continue
		}
		if len(v) >= MinAnywhere {
			s = strings.ReplaceAll(s, v, Mark)
		} else {
			s = replaceWhole(s, v)
		}
	}
	return s
}

// replaceWhole replaces v in s where it stands as a whole token.
func replaceWhole(s, v string) string {
	first, _ := utf8.DecodeRuneInString(v)
	last, _ := utf8.DecodeLastRuneInString(v)
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, v)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		done := s[:len(s)-len(rest)+i] // everything before this match, in s
		before, _ := utf8.DecodeLastRuneInString(done)
		after, _ := utf8.DecodeRuneInString(rest[i+len(v):])
		whole := !(isWord(first) && len(done) > 0 && isWord(before)) &&
			!(isWord(last) && i+len(v) < len(rest) && isWord(after))
		b.WriteString(rest[:i])
		if whole {
			b.WriteString(Mark)
		} else {
			b.WriteString(v)
		}
		rest = rest[i+len(v):]
	}
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// unescape decodes the JSON escapes `\uXXXX` (of printable characters, and
// surrogate pairs) and `\/` in s, so that a secret escaped by any JSON encoder
// matches its plain form. Other text is left as it is.
func unescape(s string) string {
	if !strings.Contains(s, `\u`) && !strings.Contains(s, `\/`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		if s[i+1] == '/' {
			b.WriteByte('/')
			i += 2
			continue
		}
		r, n := hexRune(s[i:])
		if n > 0 && r >= 0xD800 && r < 0xDC00 {
			if r2, n2 := hexRune(s[i+n:]); n2 > 0 {
				if p := utf16.DecodeRune(r, r2); p != unicode.ReplacementChar {
					r, n = p, n+n2
				}
			}
		}
		if n == 0 || !unicode.IsPrint(r) {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

// hexRune reads `\uXXXX` at the start of s; n is 0 when there is none.
func hexRune(s string) (rune, int) {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return 0, 0
	}
	v, err := strconv.ParseUint(s[2:6], 16, 16)
	if err != nil {
		return 0, 0
	}
	return rune(v), 6
}
