package promtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWriter(t *testing.T) {
	var w Writer
	w.Family("a_total", "counter", "counts\\ things\nhere")
	w.Sample("a_total", 3, "profile", "p\"1\\\n", "result", "ok")
	w.Sample("a_total", 1.5e9)
	want := "# HELP a_total counts\\\\ things\\nhere\n# TYPE a_total counter\n" +
		"a_total{profile=\"p\\\"1\\\\\\n\",result=\"ok\"} 3\na_total 1500000000\n"
	if got := string(w.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// unescape reverses a label value's escaping as Prometheus's parser does.
func unescape(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' || c == '\n' {
			return "", false // would end the value, or the line
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			return "", false
		}
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case '"':
			b.WriteByte('"')
		case 'n':
			b.WriteByte('\n')
		default:
			return "", false
		}
	}
	return b.String(), true
}

// FuzzEscapeLabelValue: whatever a label value holds, its escaped form stays
// inside its quotes and on its line, is valid UTF-8, and reads back as the
// value (made valid UTF-8).
func FuzzEscapeLabelValue(f *testing.F) {
	for _, s := range []string{"", "ok", `a"b`, `a\b`, "a\nb", "\\n", "\xff\xfe", `\"`, "é\r\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := EscapeLabelValue(s)
		if !utf8.ValidString(e) {
			t.Fatalf("escaped %q is not valid UTF-8: %q", s, e)
		}
		got, ok := unescape(e)
		if !ok {
			t.Fatalf("escaped %q as %q: ends the value or the line", s, e)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); got != want {
			t.Fatalf("escaped %q as %q, which reads back as %q", s, e, got)
		}
	})
}
