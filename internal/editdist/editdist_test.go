package editdist

import "testing"

func TestDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"refresh", "refresh", 0},
		{"refesh", "refresh", 1}, {"grantTyp", "grantType", 1},
		{"url", "uuid", 3}, {"kitten", "sitting", 3},
		// Two adjacent bytes swapped are one edit.
		{"tokne", "token", 1}, {"scpoe", "scope", 1}, {"defualt", "default", 1},
		{"ab", "ba", 1}, {"abcd", "badc", 2},
		// No byte is edited twice: "ca" → "ac" → "abc" is not two edits.
		{"ca", "abc", 3},
	} {
		if got := Distance(tt.a, tt.b); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := Distance(tt.b, tt.a); got != tt.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestNearest(t *testing.T) {
	names := []string{"default", "eu", "staging", "stage", "generic"}
	for _, tt := range []struct{ word, want string }{
		{"defualt", "default"}, {"dfault", "default"}, {"stagin", "staging"}, {"stage", "stage"},
		{"generc", "generic"}, {"prod", ""}, {"us", ""}, {"", ""}, {"defaultxyz", ""},
	} {
		if got := Nearest(tt.word, names); got != tt.want {
			t.Errorf("Nearest(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
