package cli

import (
	"os/exec"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

func TestCacheUntil(t *testing.T) {
	now := time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)
	tok := &refresh.Token{AccessToken: "a", ObtainedAt: now.Add(-time.Hour), Expiry: now.Add(30 * time.Second)}
	if got := cacheUntil(tok, time.Minute, now); !got.Equal(tok.Expiry) {
		t.Errorf("a kept token within the margin: %v, want its expiry %v", got, tok.Expiry)
	}
	tok.Expiry = now.Add(time.Hour)
	if got, want := cacheUntil(tok, time.Minute, now), now.Add(59*time.Minute); !got.Equal(want) {
		t.Errorf("a fresh token: %v, want expiry less the margin %v", got, want)
	}
}

func TestSingleQuote(t *testing.T) {
	for in, want := range map[string]string{
		"":         "''",
		"abc":      "'abc'",
		"it's":     `'it'\''s'`,
		"$(x) `y`": "'$(x) `y`'",
		"a{b,c}":   "'a{b,c}'",
	} {
		if got := singleQuote(in); got != want {
			t.Errorf("singleQuote(%q) = %s, want %s", in, got, want)
		}
		// And a shell gives the value back.
		out, err := exec.Command("sh", "-c", `eval "$1"; printf %s "$X"`, "sh", "export X="+singleQuote(in)).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh read back %q (%v), want %q", out, err, in)
		}
	}
}
