package refresh

import (
	"context"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// TokenSource returns an oauth2.TokenSource backed by the token file, at memory
// speed: while the last token this Manager handed out has more than Margin left,
// Token returns it without reading the file or allocating. Once the margin is
// reached it is Manager.Token: one read of the file, and a renewal shared with
// every other caller, in this process and others, when the file's token is due
// too. A token renewed early by another process is picked up then, or at once
// when an API refuses ours with a 401 through this Manager's Transport (which
// goes back to the file under the lock).
//
// The returned *oauth2.Token is shared by every caller until the next renewal,
// as oauth2.ReuseTokenSource shares its token: treat it as read-only. A caller
// that writes to it anyway does not poison the others that come after: the
// next Token call sees the change and hands out a fresh copy.
//
// The token carries no RefreshToken, on purpose: the refresh token belongs to
// the file, and a caller that used it (x/oauth2's own refresh, say) could spend
// a rotating one behind tokenkeeper's back and lose the grant. Expiry is the
// access token's true expiry; Manager renews Margin before it. The token's
// Extra holds "geolocation" (the API base a provider names) when the token endpoint sent
// one.
//
// Token has no context: calls use context.Background(), bounded by the
// Client's Timeout and the Manager's LockTimeout. There is no need to wrap it
// in oauth2.ReuseTokenSource: it already is one, that also sees renewals made
// by other processes.
func (m *Manager) TokenSource() oauth2.TokenSource {
	m.tokens.use()
	return tokenSource{m}
}

type tokenSource struct{ m *Manager }

func (s tokenSource) Token() (*oauth2.Token, error) {
	if c := s.m.tokens.fresh(s.m.now()); c != nil {
		return c.tok, nil
	}
	t, err := s.m.Token(context.Background())
	if err != nil {
		return nil, err
	}
	// Token offered t to the cache (Manager.result): hand out that copy, so
	// that callers share one until the next renewal.
	if c := s.m.tokens.p.Load(); c != nil && c.access == t.AccessToken && c.intact() {
		return c.tok, nil
	}
	return t.OAuth2(), nil
}

// accessToken is Manager.Token's access token, from the cache while it is
// fresh (the Transport's path).
func (m *Manager) accessToken(ctx context.Context) (string, error) {
	if c := m.tokens.fresh(m.now()); c != nil {
		return c.access, nil
	}
	m.tokens.use()
	t, err := m.Token(ctx)
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
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

// tokenCache remembers the last token a Manager handed out and until when it
// may be handed out again without looking at the file. It only ever holds a
// token that a run of the lifecycle returned (Manager.result offers each), so
// it decides nothing: it replays that decision until the margin is reached.
//
// It is filled only once a TokenSource or Transport is in use: a process that
// calls Token once (the CLI) is spared building an *oauth2.Token it never reads.
type tokenCache struct {
	p    atomic.Pointer[cachedToken]
	used atomic.Bool
}

func (c *tokenCache) use() {
	if !c.used.Load() {
		c.used.Store(true)
	}
}

// cachedToken is immutable once published; tok is what callers get, and the
// other fields are our own copy of it, to notice a caller writing to tok.
type cachedToken struct {
	tok         *oauth2.Token
	access, typ string
	expiry      time.Time
	renewAt     time.Time // Token.RenewAt(margin): from then on, back to the file
	notBefore   time.Time // Token.trustedFrom: before it, the clock went back
}

// fresh returns the cached token if it may be handed out at now, else nil.
func (c *tokenCache) fresh(now time.Time) *cachedToken {
	e := c.p.Load()
	if e == nil || !now.Before(e.renewAt) || now.Before(e.notBefore) || !e.intact() {
		return nil
	}
	return e
}

// offer caches t, a token a run just returned; the last offer wins. A token
// already cached (and intact) is kept as it is: no allocation per file read.
func (c *tokenCache) offer(t *Token, margin time.Duration) {
	if t == nil || t.AccessToken == "" || !c.used.Load() {
		return
	}
	if e := c.p.Load(); e != nil && e.access == t.AccessToken && e.expiry.Equal(t.Expiry) && e.intact() {
		return
	}
	o := t.OAuth2()
	c.p.Store(&cachedToken{tok: o, access: o.AccessToken, typ: o.TokenType, expiry: o.Expiry, renewAt: t.RenewAt(margin), notBefore: t.trustedFrom()})
}

// forget drops the cached token: the next call goes to the file.
func (c *tokenCache) forget() { c.p.Store(nil) }

// intact reports whether no caller has written to the shared token. Comparing
// a string with itself is a pointer comparison: this costs nanoseconds.
func (e *cachedToken) intact() bool {
	t := e.tok
	return t.AccessToken == e.access && t.TokenType == e.typ && t.Expiry == e.expiry &&
		t.RefreshToken == "" && t.ExpiresIn == 0
}
