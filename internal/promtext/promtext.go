// Package promtext writes the Prometheus text exposition format (version
// 0.0.4): HELP and TYPE lines, then the family's samples. It is a few lines
// of ours rather than prometheus/common's expfmt: it has no package-level
// state, so the commands that never serve metrics pay nothing for it at
// start-up (docs/performance.md, "What start-up leaves out").
package promtext

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ContentType is what a /metrics answer in this format is served as.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Writer accumulates an exposition. Families must be written whole, one after
// the other: every sample of a family follows its Family call.
type Writer struct {
	b []byte
}

// Family starts a metric family. typ is gauge, counter or untyped; help is
// escaped as the format asks (backslash, newline).
func (w *Writer) Family(name, typ, help string) {
	w.b = append(w.b, "# HELP "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = appendEscaped(w.b, help, false)
	w.b = append(w.b, "\n# TYPE "...)
	w.b = append(w.b, name...)
	w.b = append(w.b, ' ')
	w.b = append(w.b, typ...)
	w.b = append(w.b, '\n')
}

// Sample writes one sample; labels are name, value pairs. Label values are
// escaped (backslash, double quote, newline) and made valid UTF-8.
func (w *Writer) Sample(name string, value float64, labels ...string) {
	w.b = append(w.b, name...)
	if len(labels) > 0 {
		w.b = append(w.b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, labels[i]...)
			w.b = append(w.b, '=', '"')
			w.b = appendEscaped(w.b, labels[i+1], true)
			w.b = append(w.b, '"')
		}
		w.b = append(w.b, '}')
	}
	w.b = append(w.b, ' ')
	w.b = appendValue(w.b, value)
	w.b = append(w.b, '\n')
}

// Bytes is the exposition written so far.
func (w *Writer) Bytes() []byte { return w.b }

// EscapeLabelValue is a label value as it appears between the quotes.
func EscapeLabelValue(s string) string { return string(appendEscaped(nil, s, true)) }

func appendEscaped(b []byte, s string, quote bool) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '"' && quote:
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}
