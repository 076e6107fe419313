package credentials

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics, classifies every failure, and what it
// accepts survives a Save-format round trip unchanged.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(fixtures, "*.json"))
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(Template())
	f.Add([]byte(`{"appID": "a", "appID": 1, "clientID": null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("/fuzz/credentials.json", data)
		var se *SyntaxError
		var inv *InvalidError
		switch {
		case errors.As(err, &se):
			if se.Line < 0 || se.Col < 0 || (se.Line == 0) != errors.Is(err, ErrEmpty) {
				t.Fatalf("bad position %d:%d for %v", se.Line, se.Col, err)
			}
			return
		case errors.As(err, &inv):
			if len(inv.Problems) == 0 {
				t.Fatal("InvalidError without problems")
			}
			return
		case err != nil:
			t.Fatalf("unexpected error type %T: %v", err, err)
		}
		_ = c.Validate()
		_ = c.Missing()
		_ = c.Redacted()
		_ = c.String()
		again, err := Parse("/fuzz/credentials.json", c.marshal())
		if err != nil {
			t.Fatalf("re-parse of saved form: %v", err)
		}
		for _, name := range fieldNames {
			if got, want := *again.field(name), *c.field(name); got != want {
				t.Fatalf("%s changed in round trip: %q, want %q", name, got, want)
			}
		}
	})
}
