package redact

import (
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
