package redact

import (
	"encoding/base64"
	"net/url"
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
