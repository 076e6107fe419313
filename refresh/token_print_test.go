package refresh

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestTokenPrintsNoSecret: a Token printed by mistake, in any verb or through
// slog, shows no token and no query value of its URLs.
func TestTokenPrintsNoSecret(t *testing.T) {
	tok := Token{AccessToken: "at-secret-value-1", RefreshToken: "rt-secret-value-2", TokenType: "Bearer",
		Expiry: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), TokenURL: "https://h.example/t?api_key=key-secret-value-3"}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "tok", tok, "ptr", &tok)
	out := fmt.Sprintf("%v %+v %#v %s %v", tok, tok, tok, &tok, []*Token{&tok}) + buf.String()
	for _, s := range []string{"at-secret", "rt-secret", "key-secret"} {
		if strings.Contains(out, s) {
			t.Errorf("printed Token shows %s…:\n%s", s, out)
		}
	}
	if !strings.Contains(out, "set (17 chars)") || !strings.Contains(out, "2026-12-01T00:00:00Z") {
		t.Errorf("printed Token does not say what is set:\n%s", out)
	}
}
