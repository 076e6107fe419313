package redact

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestTerminal(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"plain text, ünïcode ✓\nsecond line", "plain text, ünïcode ✓\nsecond line"},
		{"a\x1b]0;title\x07\x1b[2Jb", `a\x1b]0;title\x07\x1b[2Jb`},
		{"tab\there\rcr\x7fdel", `tab\x09here\x0dcr\x7fdel`},
		{"c1 \u009b31m bidi \u202eevil", `c1 \u009b31m bidi \u202eevil`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"", ""},
	} {
		if got := Terminal(tt.in); got != tt.want {
			t.Errorf("Terminal(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzTerminal(f *testing.F) {
	f.Add("a\x1b[31mb\u009b\xff")
	f.Fuzz(func(t *testing.T, s string) {
		got := Terminal(s)
		for _, r := range got {
			if r != '\n' && r != ' ' && !unicode.IsPrint(r) {
				t.Fatalf("Terminal(%q) = %q keeps %U", s, got, r)
			}
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Terminal(%q) = %q is not UTF-8", s, got)
		}
	})
}

// TestLine: outside text becomes one line of printable text, cut on a rune
// boundary; the one rule for an endpoint's answer, a lock's holder and a
// store's answer.
func TestLine(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 10, ""},
		{"plain text", 100, "plain text"},
		{"  lead\r\n\tand\x1b[2Jtrail  ", 100, "lead and [2Jtrail"},
		{"c1\u009b2Jcsi \u202eevil\u202c", 100, "c1 2Jcsi evil"},
		{"bad\xffutf8", 100, "bad utf8"},
		{"héllo wörld", 6, "héllo…"},
		{"日本語テキスト", 7, "日本…"},
	} {
		if got := Line(tt.in, tt.n); got != tt.want {
			t.Errorf("Line(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func FuzzLine(f *testing.F) {
	for _, s := range []string{"a\x1b[31mb", "\u009b\u202e\xff", "  x  y  ", "日本語"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = n%400 + 1
		if n < 1 {
			n = -n + 1
		}
		got := Line(s, n)
		if !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
			t.Fatalf("Line(%q, %d) = %q: not printable", s, n, got)
		}
		if len(got) > n+len("…") || strings.HasPrefix(got, " ") || strings.Contains(got, "  ") {
			t.Fatalf("Line(%q, %d) = %q: over length or loose spaces", s, n, got)
		}
	})
}
