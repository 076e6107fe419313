package refresh

import (
	"context"

	"golang.org/x/oauth2"
)

// TokenSource returns an oauth2.TokenSource backed by the token file: each Token
// call is Manager.Token (one read of the file while the token is valid; a renewal
// shared with every other caller, in this process and others, when it is not).
//
// The returned token carries no RefreshToken, on purpose: the refresh token belongs
// to the file, and a caller that used it (x/oauth2's own refresh, say) could spend a
// rotating one behind tokenkeeper's back and lose the grant. Expiry is the access
// token's true expiry; Manager renews Margin before it. The token's Extra holds
// "geolocation" (Concur's API base) when the token endpoint sent one.
//
// Token has no context: calls use context.Background(), bounded by the Client's
// Timeout and the Manager's LockTimeout. Wrapping it in oauth2.ReuseTokenSource
// saves the file read per call, at the price of not seeing a token renewed by
// another process until the cached one is near its expiry.
func (m *Manager) TokenSource() oauth2.TokenSource { return tokenSource{m} }

type tokenSource struct{ m *Manager }

func (s tokenSource) Token() (*oauth2.Token, error) {
	t, err := s.m.Token(context.Background())
	if err != nil {
		return nil, err
	}
	return t.OAuth2(), nil
}

// OAuth2 converts the token to an *oauth2.Token without its refresh token (see
// Manager.TokenSource for why).
func (t *Token) OAuth2() *oauth2.Token {
	o := &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.Expiry}
	if t.Geolocation != "" {
		o = o.WithExtra(map[string]any{"geolocation": t.Geolocation})
	}
	return o
}
