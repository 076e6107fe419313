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
//     in the request body; and path-escaped), JSON- and HTML-escaped, the HTTP
//     Basic value base64(id:secret) (Forms, Basic), and each of those in hex and
//     in base64 of either alphabet at any offset (an endpoint that base64s the
//     whole body it got); of a JWS (a client assertion, a JWT), its signature
//     alone too. Matching ignores ASCII case, white space and invisible
//     characters (the NULs of UTF-16, zero-width spaces), so that a secret
//     upper-cased, split across lines or interleaved is found. Before
//     matching, the escapes of the text are taken off layer by layer (JSON's
//     \uXXXX and \n, %XX of either case, HTML's &#NN; and &name;), so that a
//     secret every byte of which another encoder escaped, or that was
//     form-encoded twice, is found; text in which no escaped secret hides
//     keeps its escapes.
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
// A short secret that is also a word (a test setup's client secret
// "secret", a numeric "1234") hides that word wherever it stands alone, in
// tokenkeeper's own words too: the message then shows where it was, which
// tells what such a secret is — it was none — and an endpoint's echo of it
// stays hidden, which is what counts; the remedy is a real secret.
//
// Parts. Of a value longer than MinPart, every run of MinPart characters (as
// is or form-encoded, folded) is hidden wherever it occurs: an endpoint that
// quotes the first or last characters of the token it refused shows fewer
// than MinPart of them (of a value longer than 4096 characters, the runs of
// its first and last 2048). Of a JWS (a JWT), only the runs of its signature:
// its header and claims are no secret, and the JWTs of one issuer share long
// runs of them, so that any other JWT a message quotes (an id_token, another
// client's assertion) would lose its header; the whole JWS is hidden as a
// secret all the same.
//
// Cost. Text reads the text once for each layer of escapes (at most
// maxDecode; three in a text of more than 256 KiB), whatever the length of
// the list: an endpoint's answer of a
// megabyte against the thousands of values that a long access token gives
// costs milliseconds (BenchmarkText1MiB), not seconds.
//
// Caveat: base64 hides only the characters that encode the secret's bytes
// alone: the one or two at each end that it shares with its neighbours stay
// (at most two bytes of the secret, fewer than MaskToken shows). A secret
// encoded in a way not listed above is not recognised — encrypted,
// reversed, base32, quoted-printable, octal escapes, hex with separators
// ("0x41 0x42", "41:42"), hex of UTF-16, Unicode look-alikes (fullwidth
// letters), cut by markup into runs shorter than MinPart, or escaped more
// than maxDecode times (more than three in a text of over 256 KiB) — nor a part shorter than MinPart: no framework's
// echo writes those, and what an endpoint that means to show a secret
// chooses to write no rule can follow. Readers of endpoint text redact
// first and cut after.
//
// What is shown. Text in which a secret was found only after taking escapes
// off is shown as it is after those layers (unescaped), the secret hidden;
// an escaped line break or tab shows as a space, so that an endpoint's text
// never starts a line of its own.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
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

// MinPart is how many characters of a longer secret are hidden wherever they
// occur, as a part of it: an echo cut short shows fewer.
const MinPart = 16

// maxParts bounds the characters of a value whose parts Add lists: of a
// longer one (no token a real endpoint hands out is; one that hands out a
// megabyte would otherwise make every message cost a second), the parts of
// its first and last maxParts/2 characters, the ends an endpoint quotes when
// it cuts a token short. The whole value is hidden all the same.
const maxParts = 4096

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
// lower-case hex, JSON-escaped, HTML-escaped, and with its '+' as spaces (form-
// decoded once too often). Empty for an empty secret.
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
	// A '+' the endpoint form-decoded once too often, as a space.
	add(strings.ReplaceAll(secret, "+", " "))
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

// Add returns list with what Text looks for to hide each value added: a
// value of MinAnywhere bytes or more in each of its Forms, and each form's
// base64 (standard and URL-safe alphabets, at each of the three offsets at
// which it may stand in what was encoded: the characters that encode only the
// value, which every base64 of a text holding it contains) and hex — folded
// for Text (ASCII lower case, no white space); a shorter value in its Forms as
// they are, for whole-token matching. No duplicates, longest first. Basic's
// values go in through Add too.
func Add(list []string, values ...string) []string {
	seen := make(map[string]bool, len(list))
	for _, v := range list {
		seen[v] = true
	}
	put := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			list = append(list, v)
		}
	}
	for _, v := range values {
		sig := jwsSignature(v)
		if sig != "" {
			list = Add(list, sig)
		}
		for _, f := range Forms(v) {
			if len(v) < MinAnywhere {
				put(f)
				continue
			}
			put(fold(f))
			put(hex.EncodeToString([]byte(f)))
			for _, c := range base64Cores(f) {
				put(fold(c))
			}
		}
		// Part of a long value is hidden too: an endpoint that echoes the
		// first characters of the token it refused ("token 8xKf2…") shows
		// no more than MinPart-1 of them. Of a JWS, only its signature's
		// (above): its header and claims are no secret, and every JWS of an
		// issuer shares runs of them ("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
		// begins most), which would be hidden in each JWT a message quotes.
		for _, f := range []string{fold(v), fold(url.QueryEscape(v))} {
			for i := 0; sig == "" && len(f) > MinPart && i+MinPart <= len(f); i++ {
				if len(f) > maxParts && i == maxParts/2 {
					i = len(f) - maxParts/2 // see maxParts
				}
				put(f[i : i+MinPart])
			}
		}
		if len(v) >= MinAnywhere {
			// Windows programs base64 a string's UTF-16 (.NET's Encoding.Unicode).
			for _, c := range base64Cores(utf16LE(v)) {
				put(fold(c))
			}
		}
	}
	slices.SortStableFunc(list, func(x, y string) int { return len(y) - len(x) })
	return list
}

// jwsSignature is the signature of a value in JWS compact form (a
// private_key_jwt client assertion, a JWT access token), or "": an endpoint
// that names the signature it refused shows the part of the JWS that proves
// it, the header and the claims being no secret.
func jwsSignature(v string) string {
	parts := strings.Split(v, ".")
	if len(parts) != 3 || len(parts[2]) < 2*MinAnywhere {
		return ""
	}
	// A JWS's header is a JSON object: a secret that merely holds two dots
	// is no JWS, and all of it is secret.
	if h, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || !json.Valid(h) || !bytes.HasPrefix(bytes.TrimSpace(h), []byte("{")) {
		return ""
	}
	for _, c := range parts[2] {
		if !(c == '-' || c == '_' || c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c))) {
			return ""
		}
	}
	return parts[2]
}

// utf16LE is s in UTF-16, little-endian.
func utf16LE(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// base64Cores returns, for each alphabet and each offset (0, 1, 2) of b in
// the encoded text modulo 3, the characters that depend on b's bytes alone:
// the whole groups of four that hold none of the bytes before or after it.
// Those of fewer than MinAnywhere characters are left out.
func base64Cores(b string) []string {
	var out []string
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 0; k < 3; k++ {
			e := enc.EncodeToString(append(make([]byte, k), b...))
			start, end := 0, 4*((k+len(b))/3)
			if k > 0 {
				start = 4
			}
			if end-start >= MinAnywhere {
				out = append(out, e[start:end])
			}
		}
	}
	return out
}

// fold is how Text compares: ASCII letters in lower case; white space,
// control and format characters (a NUL between the bytes of UTF-16 text, a
// zero-width space), backslashes and bytes that are not UTF-8 left out — so that a secret
// echoed upper-cased (hex digits, a whole message), split across lines or
// interleaved with invisible characters is still found.
func fold(s string) string {
	f, _ := folded(s, false)
	return f
}

// folded is fold, and with withPos the index in s of each byte of the result.
func folded(s string, withPos bool) (string, []int) {
	var b []byte
	var pos []int
	same := true // the result so far is s[:i]
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		var skip bool
		if r < utf8.RuneSelf { // most text: no tables to look up
			skip = r <= ' ' || r == 0x7f || r == '\\'
		} else {
			r, n = utf8.DecodeRuneInString(s[i:])
			skip = r == utf8.RuneError && n == 1 || unicode.IsSpace(r) || !unicode.IsPrint(r)
		}
		// A backslash goes too: a secret escaped for a regular expression or
		// a shell (\+, \-) is still the secret.

		upper := 'A' <= r && r <= 'Z'
		if same && (skip || upper) {
			same = false
			b = append(make([]byte, 0, len(s)), s[:i]...)
			if withPos {
				pos = make([]int, i, len(s))
				for j := range i {
					pos[j] = j
				}
			}
		}
		if !skip && !same {
			if upper {
				b = append(b, byte(r)+'a'-'A')
			} else {
				b = append(b, s[i:i+n]...)
			}
			for k := 0; withPos && k < n; k++ {
				pos = append(pos, i+k)
			}
		}
		i += n
	}
	if !same {
		return string(b), pos
	}
	if withPos {
		pos = make([]int, len(s))
		for j := range pos {
			pos[j] = j
		}
	}
	return s, pos
}

// maxDecode bounds how many layers of escapes Text takes off: a secret
// form-encoded in a body that was form-encoded again, then JSON-escaped, is
// three; eight leaves room for more. A bound there must be: every layer
// of "%2525…" takes off one, and a text of a megabyte has thousands.
const maxDecode = 8

// Of a text longer than largeText, Text takes off maxDecodeLarge layers:
// each layer is a pass over all of it, and what is that large is an
// endpoint's whole answer, which no framework escapes more than thrice
// (an answer escaped more than that was written to hide a secret, and
// could as well be escaped nine times).
const (
	largeText      = 256 << 10
	maxDecodeLarge = 3
)

// Text returns s with every value of secrets (a list made by Add) replaced by
// Mark, by the rules of the package doc. The escapes of text are taken off
// layer by layer (decode) and each layer is searched too; the text is shown
// as it is after the last layer in which a secret was found, so that text in
// which no escaped secret hides keeps its escapes: a JSON body stays JSON.
func Text(s string, secrets []string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	m := newMatcher(secrets)
	out, _ := m.hide(s)
	cur := out
	layers := maxDecode
	if len(s) > largeText {
		layers = maxDecodeLarge
	}
	for range layers {
		d := decode(cur)
		if d == cur {
			break
		}
		r, found := m.hide(d)
		if found {
			out = r
		}
		cur = r
	}
	return out
}

// matcher is a list of Add's, ready for hide: the short values, and the long
// ones in an index.
type matcher struct {
	short []string
	long  *index
}

func newMatcher(secrets []string) *matcher {
	m := &matcher{}
	var long []string
	for _, v := range secrets {
		if len(v) < MinAnywhere {
			m.short = append(m.short, v)
		} else {
			long = append(long, v)
		}
	}
	if len(long) > 0 {
		m.long = newIndex(long)
	}
	return m
}

// hide replaces in s each match of the list with Mark: a folded value
// (MinAnywhere bytes or more) wherever fold(s) holds it, the white space
// within the match hidden with it; a shorter one where it stands as a whole
// token. The long values are found in one pass over fold(s) (index), so that
// what it costs grows with the text and the list, never with their product:
// an endpoint's answer of a megabyte against a list of thousands of values
// (each part of a long access token is one) is read once per layer.
func (m *matcher) hide(s string) (string, bool) {
	var hidden []bool
	mark := func(from, to int) {
		if hidden == nil {
			hidden = make([]bool, len(s))
		}
		for i := from; i < to; i++ {
			hidden[i] = true
		}
	}
	for _, v := range m.short {
		wholeMatches(s, v, mark)
	}
	if m.long != nil {
		f := fold(s)
		var pos []int // pos[j]: the index in s of f[j]
		hi := 0       // s[:hi] is marked already where it is to be
		m.long.find(f, func(i int, v string) bool {
			if pos == nil {
				_, pos = folded(s, true)
			}
			to := pos[i+len(v)-1] + 1
			if to <= hi {
				return false
			}
			mark(max(pos[i], hi), to)
			hi = to
			return true
		})
	}
	if hidden == nil {
		return s, false
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !hidden[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(Mark)
		for i < len(s) && hidden[i] {
			i++
		}
	}
	return b.String(), true
}

// index finds values of MinAnywhere bytes or more in a text in one pass:
// each is looked up by its first MinAnywhere bytes, behind a bit filter that
// most positions of a text fail.
type index struct {
	values []string
	filter []uint64
	byKey  map[uint64][]int32 // into values
}

const filterBits = 18 // 32 KiB: a list of thousands of values sets few of its bits

func newIndex(values []string) *index {
	x := &index{values: values, filter: make([]uint64, 1<<filterBits/64), byKey: make(map[uint64][]int32, len(values))}
	for e, v := range values {
		k := prefixKey(v)
		h := filterHash(k)
		x.filter[h/64] |= 1 << (h % 64)
		x.byKey[k] = append(x.byKey[k], int32(e))
	}
	return x
}

// longValue is the length from which a value compared at a position is
// compared by its last bytes first, and followed by a scanner once comparing
// it has cost more than scanAfter times its length: a value of one
// repeated character (or any short period) against text of it would else
// be compared whole at every position.
const (
	longValue = 64
	scanAfter = 8
)

// find calls match(i, v) for each value v that f holds at i, by increasing
// i; at an i where one value's match ends past the others (match returns
// true, it hid more), a value that would end no further is not compared.
func (x *index) find(f string, match func(i int, v string) bool) {
	var spent []int
	var scans map[int32]*scanner
	reach := 0 // f[:reach] is matched already
	for i := 0; i+MinAnywhere <= len(f); i++ {
		k := prefixKey(f[i:])
		if h := filterHash(k); x.filter[h/64]&(1<<(h%64)) == 0 {
			continue
		}
		for _, e := range x.byKey[k] {
			v := x.values[e]
			end := i + len(v)
			if end <= reach || end > len(f) {
				continue
			}
			var ok bool
			switch sc := scans[e]; {
			case len(v) < longValue:
				ok = f[i:end] == v
			case sc != nil:
				ok = sc.endsAt(f, end)
			case f[end-MinAnywhere:end] == v[len(v)-MinAnywhere:]:
				ok = f[i:end] == v
				if spent == nil {
					spent = make([]int, len(x.values))
					scans = map[int32]*scanner{}
				}
				if spent[e] += len(v); spent[e] > scanAfter*len(v) {
					scans[e] = newScanner(v, i+1)
				}
			}
			if ok && match(i, v) {
				reach = end
			}
		}
	}
}

// scanner finds a value's matches in a text left to right (Knuth, Morris
// and Pratt): each byte of the text is read once, whatever the value.
type scanner struct {
	v       string
	fail    []int
	q, t    int // v[:q] matches f[t-q:t]
	lastEnd int // where the last match seen ends
}

func newScanner(v string, from int) *scanner {
	fail := make([]int, len(v))
	for i, q := 1, 0; i < len(v); i++ {
		for q > 0 && v[i] != v[q] {
			q = fail[q-1]
		}
		if v[i] == v[q] {
			q++
		}
		fail[i] = q
	}
	return &scanner{v: v, fail: fail, t: from, lastEnd: -1}
}

// endsAt reports whether a match of v ends at end; end grows call by call.
func (s *scanner) endsAt(f string, end int) bool {
	for ; s.t < end; s.t++ {
		c := f[s.t]
		for s.q > 0 && s.v[s.q] != c {
			s.q = s.fail[s.q-1]
		}
		if s.v[s.q] == c {
			s.q++
		}
		if s.q == len(s.v) {
			s.lastEnd = s.t + 1
			s.q = s.fail[s.q-1]
		}
	}
	return s.lastEnd == end
}

func prefixKey(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func filterHash(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> (64 - filterBits) }

// wholeMatches marks v in s where it stands as a whole token.
func wholeMatches(s, v string, mark func(from, to int)) {
	first, _ := utf8.DecodeRuneInString(v)
	last, _ := utf8.DecodeLastRuneInString(v)
	for off := 0; ; {
		i := strings.Index(s[off:], v)
		if i < 0 {
			return
		}
		i += off
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+len(v):])
		if !(isWord(first) && i > 0 && isWord(before)) && !(isWord(last) && i+len(v) < len(s) && isWord(after)) {
			mark(i, i+len(v))
		}
		off = i + 1
	}
}

func isWord(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// decode takes one layer of escapes off s: JSON's (`\uXXXX` with surrogate
// pairs, `\/`, `\"`, `\\`, `\n` and the other one-letter ones) and `\xXX`,
// URL percent-escapes (`%XX`, either case), and HTML character references
// (`&#NN;`, `&#xXX;`, `&name;`). Only escapes of printable characters and
// white space are taken off: control characters stay escaped, and an escaped
// line break or tab becomes a space. Other text is left as it is.
func decode(s string) string {
	if !strings.ContainsAny(s, `\%&`) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		// What holds no escape is copied as it is, a run at a time.
		if j := strings.IndexAny(s[i:], `\%&`); j != 0 {
			if j < 0 {
				j = len(s) - i
			}
			b = append(b, s[i:i+j]...)
			i += j
			continue
		}
		r, n := escapeAt(s[i:])
		if n == 0 {
			b = append(b, s[i])
			i++
			continue
		}
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			// A space: matching skips white space all the same, and a line
			// break that was escaped is no line break in what is shown (an
			// endpoint's text would start a line of its own, a forged hint).
			b = append(b, ' ')
		case r < utf8.RuneSelf || r <= 0xFF && s[i] == '%':
			b = append(b, byte(r)) // of %XX, one byte of a UTF-8 sequence escaped byte by byte
		default:
			b = utf8.AppendRune(b, r)
		}
		i += n
	}
	return string(b)
}

// unhex2 reads two hex digits at the start of s.
func unhex2(s string) (byte, bool) {
	if len(s) < 2 {
		return 0, false
	}
	hi, ok1 := unhex(s[0])
	lo, ok2 := unhex(s[1])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escapeAt reads the escape at the start of s: what it stands for and its
// length, n 0 when there is none (or it stands for a control character).
func escapeAt(s string) (rune, int) {
	ok := func(r rune) bool { return unicode.IsPrint(r) || r == '\t' || r == '\n' || r == '\r' }
	switch {
	case len(s) >= 3 && s[0] == '%':
		if v, isHex := unhex2(s[1:]); isHex && (v >= 0x80 || ok(rune(v))) {
			return rune(v), 3
		}
	case len(s) >= 2 && s[0] == '\\':
		switch s[1] {
		case '/', '"', '\\', '\'':
			return rune(s[1]), 2
		case 'n':
			return '\n', 2
		case 'r':
			return '\r', 2
		case 't':
			return '\t', 2
		case 'x':
			if len(s) >= 4 {
				if v, isHex := unhex2(s[2:]); isHex && v < utf8.RuneSelf && ok(rune(v)) {
					return rune(v), 4
				}
			}
		case 'u':
			r, n := hexRune(s)
			if n > 0 && r >= 0xD800 && r < 0xDC00 {
				if r2, n2 := hexRune(s[n:]); n2 > 0 {
					if p := utf16.DecodeRune(r, r2); p != unicode.ReplacementChar {
						r, n = p, n+n2
					}
				}
			}
			if n > 0 && ok(r) {
				return r, n
			}
		}
	case len(s) >= 3 && s[0] == '&' && s[1] == '#':
		// A numeric reference, its ';' optional as browsers take it.
		digits, base, i := "0123456789", 10, 2
		if s[2] == 'x' || s[2] == 'X' {
			digits, base, i = "0123456789abcdefABCDEF", 16, 3
		}
		j := i
		for j < len(s) && j < i+7 && strings.IndexByte(digits, s[j]) >= 0 {
			j++
		}
		if j == i {
			return 0, 0
		}
		v, err := strconv.ParseUint(s[i:j], base, 32)
		if err != nil || !ok(rune(v)) {
			return 0, 0
		}
		if j < len(s) && s[j] == ';' {
			j++
		}
		return rune(v), j
	case len(s) >= 3 && s[0] == '&':
		end := strings.IndexByte(s[:min(len(s), 40)], ';')
		if end < 2 {
			return 0, 0
		}
		u := html.UnescapeString(s[:end+1])
		if r, n := utf8.DecodeRuneInString(u); u != s[:end+1] && n == len(u) && ok(r) {
			return r, end + 1
		}
	}
	return 0, 0
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

// Mask is how a secret is shown: whether it is set and how long it is, never
// a character of it.
func Mask(secret string) string {
	if secret == "" {
		return "not set"
	}
	return fmt.Sprintf("set (%d chars)", utf8.RuneCountInString(secret))
}

// MaskToken is how status tells two tokens apart without showing one: the
// first four characters of a token of 16 or more (a JWT's are its header's,
// the same for every token of a provider), else what Mask shows; "" for none.
func MaskToken(token string) string {
	switch {
	case token == "":
		return ""
	case len(token) < 16:
		return Mask(token)
	}
	return fmt.Sprintf("%s… (%d chars)", token[:4], len(token))
}

// Sent returns the secrets a store's request body carries, for the store to
// hide them in what its server answers (a server may echo the request it
// refused): the string values of MinAnywhere bytes or more of every JSON
// document that is base64-encoded in a string of body — the token record, as
// etcd's value and a Kubernetes Secret's data carry it. The body's own
// strings (names, keys) are not secrets and are not returned.
func Sent(body []byte) []string {
	var doc any
	if len(body) == 0 || json.Unmarshal(body, &doc) != nil {
		return nil
	}
	var out []string
	walk(doc, func(s string) {
		b, err := base64.StdEncoding.DecodeString(s)
		var inner any
		if err != nil || json.Unmarshal(b, &inner) != nil {
			return
		}
		walk(inner, func(v string) {
			if len(v) >= MinAnywhere {
				out = append(out, v)
			}
		})
	})
	return out
}

// walk calls fn with every string value of a decoded JSON document.
func walk(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case []any:
		for _, e := range v {
			walk(e, fn)
		}
	case map[string]any:
		for _, e := range v {
			walk(e, fn)
		}
	}
}
