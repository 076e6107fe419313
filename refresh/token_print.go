package refresh

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// String is redacted, as credentials.Credentials' is: a Token printed by
// mistake (%v, %+v, %#v, slog.Any) shows which tokens are set and when they
// expire, never the tokens; URLs with their query values masked.
func (t Token) String() string {
	return fmt.Sprintf("refresh.Token{AccessToken: %s, TokenType: %q, RefreshToken: %s, Scope: %q, Expiry: %s, RefreshExpiry: %s, TokenURL: %s, Geolocation: %s}",
		redact.Mask(t.AccessToken), t.TokenType, redact.Mask(t.RefreshToken), t.Scope, timeOrNone(t.Expiry), timeOrNone(t.RefreshExpiry),
		redact.URL(t.TokenURL), redact.URL(t.Geolocation))
}

// GoString is String, for %#v.
func (t Token) GoString() string { return t.String() }

// LogValue is String, for slog.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

func timeOrNone(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}
