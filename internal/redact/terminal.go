package redact

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Terminal returns s as it may be written to a terminal or a log: every
// character that is not printable — C0 and C1 controls (ESC starts the
// sequences that move the cursor, clear the screen, set the window title or
// hide text), DEL, Unicode format characters (bidirectional overrides) and
// bytes that are not UTF-8 — is shown as its escape (\x1b, \u009b, \u202e),
// so it is seen and never acted on. Line breaks are kept: callers split lines
// themselves. Text with nothing to escape is returned as it is.
//
// This is the rule for everything tokenkeeper shows, whatever its source: an
// endpoint's text is cleaned where it is read, but a path (a link's target
// planted in a shared directory), git's input or a flag's value reaches a
// message too.
func Terminal(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !unsafeRune(r):
			b.WriteString(s[i : i+n])
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r != '\n' && r != ' ' && !unicode.IsPrint(r)
}

// Line makes outside text (a token endpoint's answer, a lock's holder, a
// store's answer) safe for one line of a terminal or a log: invalid UTF-8
// and control characters (escape sequences could rewrite the terminal) become
// spaces, runs of white space one space, and text beyond n bytes is cut on a
// rune boundary and ends in "…" (so the result holds at most n+3 bytes).
func Line(s string, n int) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	space := false
	for _, r := range strings.ToValidUTF8(s, " ") {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		need := utf8.RuneLen(r)
		if space {
			need++
		}
		if b.Len()+need > n {
			b.WriteString("…")
			break
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
