package cli

import (
	"os/exec"
	"strings"
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
	// A token of 7.6s obtained 0.6s before a whole second: the margin is
	// capped at half its lifetime, 3.8s, so tokenkeeper renews 0.2s past a
	// whole second; the tool is told the next whole second.
	tok = &refresh.Token{AccessToken: "a", ObtainedAt: now.Add(-600 * time.Millisecond), Expiry: now.Add(7 * time.Second)}
	if renew := tok.RenewAt(4 * time.Second); !renew.Equal(now.Add(3200 * time.Millisecond)) {
		t.Fatalf("RenewAt: %v, want the margin capped at 3.8s", renew)
	}
	if got, want := cacheUntil(tok, 4*time.Second, now), now.Add(4*time.Second); !got.Equal(want) {
		t.Errorf("a short token: %v, want the renewal instant rounded up to %v", got, want)
	}
	// Never past the expiry, even one that is not a whole second.
	tok = &refresh.Token{AccessToken: "a", Expiry: now.Add(1500 * time.Millisecond)}
	if got := cacheUntil(tok, 0, now); !got.Equal(tok.Expiry) {
		t.Errorf("no margin, expiry not a whole second: %v, want the expiry %v", got, tok.Expiry)
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

// TestPowerShellFormat: -o powershell's assignments quote every value so that
// PowerShell expands nothing in it, the quotes it knows included.
func TestPowerShellFormat(t *testing.T) {
	exp := time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)
	tok := &refresh.Token{AccessToken: "a.b-c_d", Expiry: exp, Geolocation: "https://api.example/it's\u2019$(x)`y/"}
	var b strings.Builder
	if err := writeToken(&b, formatPowerShell, tok, 0); err != nil {
		t.Fatal(err)
	}
	want := "$env:TOKENKEEPER_ACCESS_TOKEN = 'a.b-c_d'\n" +
		"$env:TOKENKEEPER_TOKEN_TYPE = 'Bearer'\n" +
		"$env:TOKENKEEPER_EXPIRES_AT = '2026-11-21T23:00:00Z'\n" +
		"$env:TOKENKEEPER_API_BASE = 'https://api.example/it''s\u2019\u2019$(x)`y'\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
