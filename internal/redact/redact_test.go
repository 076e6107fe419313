package redact

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"https://us.api.concursolutions.com/oauth2/v0/token", "https://us.api.concursolutions.com/oauth2/v0/token"},
		{"https://h.example/token?api_key=s3cr3t", "https://h.example/token?api_key=[redacted]"},
		{"https://h.example/token?a=1&b=&c", "https://h.example/token?a=[redacted]&b=&[redacted]"},
		{"https://h.example/token?", "https://h.example/token?"},
		{"https://user:pw@h.example/token", "https://[redacted]@h.example/token"},
		{"https://h.example/token#frag", "https://h.example/token#[redacted]"},
		{"https://h.example/t?" + strings.Repeat("k", 50) + "=v", "https://h.example/t?[redacted]=[redacted]"},
		{"https://h.example/t?s%65cret=v", "https://h.example/t?[redacted]=[redacted]"},
		{"https:opaque-secret", "https:[redacted]"},
		{"http://127.0.0.1:8080/token?client_secret=x%2By", "http://127.0.0.1:8080/token?client_secret=[redacted]"},
		{"https://h.example/\x7f?x=1", "(not a URL, 23 characters)"},
	} {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTextEncodings(t *testing.T) {
	const id, secret = "app id", "s3cr+t/with=odd&chars é"
	list := Add(nil, secret)
	list = Add(list, Basic(id, secret)...)
	sent := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	for name, echo := range map[string]string{
		"plain":          secret,
		"form":           "client_secret=" + url.QueryEscape(secret) + "&grant_type=x",
		"form lower hex": strings.ToLower(url.QueryEscape(secret)),
		"path":           "/" + url.PathEscape(secret),
		"basic":          "Authorization: Basic " + sent,
		"basic url-safe": base64.URLEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret))),
		"basic plain":    base64.StdEncoding.EncodeToString([]byte(id + ":" + secret)),
		"json":           `{"s":"s3cr+t\/with=odd\u0026chars \u00e9"}`,
		".NET json":      `s3cr\u002Bt/with\u003Dodd\u0026chars \u00E9`,
		"html":           "<p>s3cr+t/with=odd&amp;chars é</p>",
	} {
		got := Text("echo: "+echo+" end", list)
		if !strings.Contains(got, Mark) || strings.Contains(got, "s3cr") || strings.Contains(got, sent[:12]) {
			t.Errorf("%s: Text = %q, want the secret redacted", name, got)
		}
	}
}

// TestTextAnyEncoding: an endpoint that encodes the whole of what it echoes
// — base64 (the secret at each offset), hex, every byte escaped, escaped twice,
// upper-cased, split across lines — still shows no part of the secret longer
// than the ends base64 shares with its neighbours.
func TestTextAnyEncoding(t *testing.T) {
	const secret = "Rt-8fK2+x/y=Zq91"
	list := Add(nil, secret)
	each := func(s, format string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			fmt.Fprintf(&b, format, c)
		}
		return b.String()
	}
	for _, prefix := range []string{"refresh_token=", "x&refresh_token=", "xy&refresh_token="} {
		body := prefix + url.QueryEscape(secret) + "&grant_type=refresh_token"
		for name, echo := range map[string]string{
			"base64":        base64.StdEncoding.EncodeToString([]byte(body)),
			"base64url":     base64.RawURLEncoding.EncodeToString([]byte(body)),
			"base64 plain":  base64.StdEncoding.EncodeToString([]byte(prefix + secret)),
			"base64 lines":  lines(base64.StdEncoding.EncodeToString([]byte(body)), 10),
			"hex":           hex.EncodeToString([]byte(body)),
			"hex upper":     strings.ToUpper(hex.EncodeToString([]byte(body))),
			"percent all":   each(body, "%%%02X"),
			"form twice":    url.QueryEscape(url.QueryEscape(body)),
			"html entities": each(body, "&#x%x;"),
			"html decimal":  each(body, "&#%d;"),
			"json u00XX":    each(body, `\u%04x`),
			"json in json":  strings.ReplaceAll(each(body, `\u%04x`), `\`, `\\`),
			"upper":         strings.ToUpper(body),
			"split":         body[:len(prefix)+5] + "\n  " + body[len(prefix)+5:],
			"regexp":        regexp.QuoteMeta(prefix + secret),
			"utf-16 base64": base64.StdEncoding.EncodeToString([]byte(utf16LE(prefix + secret))),
			"plus as space": prefix + strings.ReplaceAll(secret, "+", " "),
		} {
			got := Text("echo: "+echo+" end", list)
			// Failures name the case, never show the secret.
			if !strings.Contains(got, Mark) {
				t.Errorf("%s, %q: nothing redacted", name, prefix)
			}
			for _, part := range textParts(secret) {
				if strings.Contains(strings.ToLower(strings.Join(strings.Fields(got), "")), strings.ToLower(part)) {
					t.Errorf("%s, %q: Text holds 8 characters of the secret's encodings", name, prefix)
					break
				}
			}
		}
	}
}

// lines splits s into lines of n characters.
func lines(s string, n int) string {
	var b strings.Builder
	for i, c := range []byte(s) {
		if i > 0 && i%n == 0 {
			b.WriteString("\r\n")
		}
		b.WriteByte(c)
	}
	return b.String()
}

// textParts are runs of the secret's encodings that Text must never show: 8
// characters of its plain, form-encoded or hex forms, or 8 characters of the
// middle of its base64 (the ends of which encode its neighbours' bits too).
func textParts(secret string) []string {
	var parts []string
	for _, f := range []string{secret, url.QueryEscape(secret), hex.EncodeToString([]byte(secret))} {
		for i := 0; i+8 <= len(f); i++ {
			parts = append(parts, f[i:i+8])
		}
	}
	for k := range 3 {
		for _, form := range []string{secret, url.QueryEscape(secret)} {
			e := base64.RawStdEncoding.EncodeToString(append(make([]byte, k), form...))
			core := e[4 : 4*((k+len(form))/3)]
			for i := 0; i+8 <= len(core); i++ {
				parts = append(parts, core[i:i+8])
			}
		}
	}
	return parts
}

// TestTextKeepsEscapes: text that hides no secret keeps its escapes and its
// case, however many layers it has.
func TestTextKeepsEscapes(t *testing.T) {
	list := Add(nil, "a-long-secret-value")
	for _, s := range []string{`{"d":"a\u002Fb \n c"}`, "q=a%252Fb&x=%41", "&lt;p&gt; &#x41;", "UPPER lower"} {
		if got := Text(s, list); got != s {
			t.Errorf("Text(%q) = %q, want it as it is", s, got)
		}
	}
}

// TestBasicBothAlphabets: the Basic value is redacted in base64's URL-safe
// alphabet as well as the standard one. The secret is chosen so that the two
// differ ('~' and '?' make '+' and '/'): with most secrets they are the same
// string, and a list missing one alphabet would pass unnoticed.
func TestBasicBothAlphabets(t *testing.T) {
	const id, secret = "app id", "s3cr~t~~~x?>"
	list := Add(nil, secret)
	list = Add(list, Basic(id, secret)...)
	for _, pair := range []string{url.QueryEscape(id) + ":" + url.QueryEscape(secret), id + ":" + secret} {
		std, safe := base64.StdEncoding.EncodeToString([]byte(pair)), base64.URLEncoding.EncodeToString([]byte(pair))
		if std == safe {
			t.Fatalf("%q encodes the same in both alphabets: the test proves nothing", pair)
		}
		for name, v := range map[string]string{"standard": std, "url-safe": safe} {
			if got := Text("Authorization: Basic "+v+" end", list); strings.Contains(got, v[:16]) || !strings.Contains(got, Mark) {
				t.Errorf("%s alphabet, %q: Text = %q, want the value redacted", name, pair, got)
			}
		}
	}
}

func TestTextShortSecret(t *testing.T) {
	list := Add(nil, "prof")
	for _, tt := range []struct{ in, want string }{
		{"tokenkeeper --profile p refresh", "tokenkeeper --profile p refresh"},
		{"secret=prof end", "secret=[redacted] end"},
		{"prof", "[redacted]"},
		{"profprof prof_x xprof", "profprof prof_x xprof"},
		{"(prof)", "([redacted])"},
	} {
		if got := Text(tt.in, list); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// From MinAnywhere on, anywhere.
	list = Add(nil, "profile1")
	if got := Text("--profile1x", list); got != "--[redacted]x" {
		t.Errorf("Text = %q, want the 8-byte secret redacted inside a word", got)
	}
}

func TestAddLongestFirst(t *testing.T) {
	list := Add(nil, "abcd", "xxabcdyy-long-refresh", "abcd")
	if got := Text("token xxabcdyy-long-refresh and abcd", list); got != "token [redacted] and [redacted]" {
		t.Errorf("Text = %q", got)
	}
}

func FuzzURL(f *testing.F) {
	f.Add("https://h.example/token?api_key=s3cr3t&x=1#f")
	f.Add("https://u:p@h/?&&=")
	f.Add("?AAAAAAAA=AAAAAAAA") // a key that is also its value is shown as a key
	f.Fuzz(func(t *testing.T, raw string) {
		got := URL(raw)
		u, err := url.Parse(raw)
		if err != nil || u.Opaque != "" {
			return
		}
		// Scheme, host and path come before the first ? (the path's own are
		// escaped) and are shown by design, so a value that equals a piece of
		// them proves nothing: what follows the ? must be keys and marks only.
		_, q, ok := strings.Cut(got, "?")
		if !ok {
			return
		}
		q = strings.TrimSuffix(q, "#"+Mark)
		keys := map[string]bool{Mark: true}
		for _, p := range strings.Split(u.RawQuery, "&") {
			if k, _, ok := strings.Cut(p, "="); ok {
				keys[k] = true
			}
		}
		for _, p := range strings.Split(q, "&") {
			k, v, ok := strings.Cut(p, "=")
			if p != "" && p != Mark && !(ok && keys[k] && (v == "" || v == Mark)) {
				t.Errorf("URL(%q) = %q shows %q of the query", raw, got, p)
			}
		}
	})
}

func FuzzText(f *testing.F) {
	f.Add("a \\u0041 \\ud83d\\ude00 \\/ \\u12", "s3cret-value")
	f.Add("prof --profile", "prof")
	f.Fuzz(func(t *testing.T, s, secret string) {
		got := Text(s, Add(nil, secret))
		if len(secret) >= MinAnywhere && strings.Trim(secret, "abcdefghijklmnopqrstuvwxyz0123456789") == "" &&
			!strings.Contains(Mark, secret) && strings.Contains(got, secret) {
			t.Errorf("Text(%q) = %q still holds %q", s, got, secret)
		}
	})
}

// BenchmarkAddTokens is what `token`'s fast path pays to learn the two tokens
// of the file it reads.
func BenchmarkAddTokens(b *testing.B) {
	at, rt := strings.Repeat("eyJhbGciOiJSUzI1NiIs", 50), "e013335d-b4ce-4c43-a7e4-b67abc1adcb0"
	for b.Loop() {
		Add(nil, at, rt)
	}
}

// TestSent: the record base64-encoded in a store's request body gives its
// long strings; the body's own strings (names, keys) are not secrets.
func TestSent(t *testing.T) {
	record := `{"access_token":"at-0123456789","refresh_token":"rt-0123456789","token_type":"Bearer"}`
	body := `{"metadata":{"name":"tokenkeeper-default"},"data":{"record":"` + base64.StdEncoding.EncodeToString([]byte(record)) + `"}}`
	got := Sent([]byte(body))
	if !slices.Contains(got, "at-0123456789") || !slices.Contains(got, "rt-0123456789") || slices.Contains(got, "tokenkeeper-default") || slices.Contains(got, "Bearer") {
		t.Errorf("Sent = %q, want the record's tokens alone", got)
	}
	if got := Sent([]byte("not json")); got != nil {
		t.Errorf("Sent(not json) = %q", got)
	}
}

// TestTextPart: MinPart characters of a long secret are hidden wherever they
// stand, the rest of the text kept.
func TestTextPart(t *testing.T) {
	const secret = "rt-Pq81Kq7ZmX3vB9tRz5LcWx2Hs4Ny"
	list := Add(nil, secret)
	for _, echo := range []string{secret[:MinPart] + "...", "…" + secret[len(secret)-MinPart-2:], strings.ToUpper(secret[5 : 5+MinPart])} {
		if got := Text("token "+echo+" revoked", list); !strings.HasPrefix(got, "token ") || !strings.Contains(got, Mark) || strings.Contains(got, secret[5:10]) {
			t.Errorf("a part of %d characters is not hidden", len(echo))
		}
	}
	if got := Text("token "+secret[:MinPart-1]+" revoked", list); got != "token "+secret[:MinPart-1]+" revoked" {
		t.Errorf("a part shorter than MinPart is hidden")
	}
}

// TestTextOtherJWT: a JWT that is not the secret keeps its header and claims
// when the secret is a JWT of the same issuer; the secret's signature alone,
// or a part of it, is hidden.
func TestTextOtherJWT(t *testing.T) {
	const header, claims = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9", "eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUuY29tIiwic3ViIjoi"
	secret := header + "." + claims + "dXNlci0xIn0." + "Zk3pQ8vX2mTn5RbL7cWy1HsJ4dKa9Ue6"
	other := header + "." + claims + "dXNlci0yIn0." + "Qa7Lm2Xc9Vb4Nt6Ry8Hp1Jk3Dw5Fs0Ge"
	list := Add(nil, secret)
	if got := Text("id_token_hint "+other+" is not valid", list); got != "id_token_hint "+other+" is not valid" {
		t.Errorf("another JWT of the issuer is not shown whole: %q", got)
	}
	for _, echo := range []string{secret, "…" + secret[len(secret)-20:], secret[:len(secret)-4]} {
		if got := Text("token "+echo+" revoked", list); strings.Contains(got, "Zk3pQ8vX2mTn5RbL") || !strings.Contains(got, Mark) {
			t.Errorf("the secret's signature is shown: %q", got)
		}
	}
}

// TestTextPartOfLongValue: of a value longer than maxParts, the parts of its
// two ends are hidden; the value whole is hidden too.
func TestTextPartOfLongValue(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 3*maxParts; i++ {
		fmt.Fprintf(&b, "%x-", i*7919)
	}
	v := b.String()
	list := Add(nil, v)
	if n := len(list); n > 2*maxParts {
		t.Errorf("Add lists %d values for a value of %d bytes, want at most %d", n, len(v), 2*maxParts)
	}
	for name, echo := range map[string]string{"whole": v, "start": v[:40], "end": v[len(v)-40:]} {
		if got := Text("token "+echo+" revoked", list); got != "token "+Mark+" revoked" {
			t.Errorf("%s: not hidden", name)
		}
	}
}

// TestTextLayersOfLargeText: in a text of more than largeText, a secret
// under three layers of escapes is found; in a small one, under eight.
func TestTextLayersOfLargeText(t *testing.T) {
	const secret = "Rt-8fK2+x/y=Zq91"
	list := Add(nil, secret)
	esc := func(s string, n int) string {
		for range n {
			s = url.QueryEscape(s)
		}
		return s
	}
	pad := strings.Repeat("the quick brown fox. ", largeText/20)
	for _, tt := range []struct {
		text   string
		layers int
	}{{pad, maxDecodeLarge}, {"", maxDecode}} {
		body := "%41%42 " + tt.text + "refresh_token=" + esc(secret, tt.layers) + " end"
		if got := Text(body, list); strings.Contains(got, "Rt-8f") || strings.Contains(got, "Rt%") || !strings.Contains(got, Mark) {
			t.Errorf("text of %d bytes: the secret under %d layers is not hidden", len(body), tt.layers)
		}
	}
}

// TestTextDottedSecret: a secret with two dots that is no JWS (its first
// part is no JSON header) has the parts of all of it hidden.
func TestTextDottedSecret(t *testing.T) {
	const secret = "abcDEF1234xyz.ghiJKL5678.mnoPQR9012stuVWX"
	list := Add(nil, secret)
	if got := Text("client secret "+secret[:20]+"… refused", list); strings.Contains(got, secret[:12]) {
		t.Errorf("the start of a dotted secret is shown: %q", got)
	}
}
