package refresh

import (
	"encoding/json"
	"testing"
)

// TestStringFieldFastPath checks that the copy-out of plain strings gives what
// json.Unmarshal gives, for plain, escaped, non-ASCII and invalid UTF-8 input.
func TestStringFieldFastPath(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"plain", `"at-1-abc"`},
		{"empty", `""`},
		{"escaped quote", `"a\"b"`},
		{"escaped slash", `"https:\/\/example.com"`},
		{"unicode escape", `"caf\u00e9"`},
		{"utf-8", `"café ✓"`},
		{"invalid utf-8", "\"a\xffb\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want string
			if err := json.Unmarshal([]byte(tc.raw), &want); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := stringField(map[string]json.RawMessage{"k": json.RawMessage(tc.raw)}, "k", &got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
	var got string
	if err := stringField(map[string]json.RawMessage{"k": json.RawMessage(`12`)}, "k", &got); err == nil {
		t.Errorf("a number was accepted as a string: %q", got)
	}
}
