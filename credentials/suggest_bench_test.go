package credentials

import (
	"strings"
	"testing"
)

// A 1 MiB unknown key: suggest compares it with no field name (the length
// alone rules them out), so parsing it costs the JSON decode, not seconds.
func BenchmarkParseHugeUnknownKey(b *testing.B) {
	data := []byte(`{"` + strings.Repeat("x", 1<<20-20) + `": ""}`)
	for b.Loop() {
		Parse("", data)
	}
}
