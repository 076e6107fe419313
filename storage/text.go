package storage

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanText makes outside text (a lock's holder, a store's answer) fit to
// put in a message: every control character (C0, DEL and C1, such as
// U+009B, a terminal's CSI), every other rune that is not printable and
// every invalid byte becomes a space, and text longer than max bytes is cut
// on a rune boundary and ends in "…".
func CleanText(s string, max int) string {
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, s)
}
