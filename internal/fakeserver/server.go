package fakeserver

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Paths served by a Server.
const (
	TokenPath      = "/oauth2/v0/token" // Concur's token path
	ShortTokenPath = "/token"           // also accepted, for generic endpoints
	// EntraTokenPath is also accepted: a token URL ending so is Microsoft
	// Entra's to the provider table (credentials.Presets), which sends a
	// scope on refresh.
	EntraTokenPath = "/login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
	APIPath        = "/api/ping"  // protected resource: 200 for a valid bearer token
	AuthorizePath  = "/authorize" // authorization endpoint: approves at once (authorize.go)
)

// Styles of response bodies.
const (
	StyleKeycloak = "keycloak"
	// StyleDex answers as Dex does: Keycloak-like bodies, but a refresh token
	// that is unknown, rotated away or expired is refused with 400
	// invalid_request in Dex's words, not invalid_grant (docs/providers.md).
	// And as Dex keeps one refresh token per user and client, a new grant
	// (password or authorization code) ends every earlier refresh token: the
	// fake has one user and one client.
	StyleDex = "dex"
)

// Ways a client may authenticate (Options.AuthStyle).
const (
	AuthEither = ""       // client credentials in the form or in HTTP Basic
	AuthParams = "params" // only client_id/client_secret in the form
	AuthHeader = "header" // only HTTP Basic
)

// Defaults for Options.
const (
	DefaultAccessTTL  = time.Hour
	DefaultRefreshTTL = 180 * 24 * time.Hour
	// NoRefreshExpiry as Options.RefreshTTL makes refresh tokens that never
	// expire and advertises no expiry (Concur: no refresh_expires_in;
	// Keycloak: refresh_expires_in 0, like offline tokens).
	NoRefreshExpiry time.Duration = -1
)

// Options configure a Server. ClientID and ClientSecret are required.
type Options struct {
	ClientID, ClientSecret string

	// CompanyUUID and RequestToken are what the password grant must send
	// as username and password. A credtype, when sent, must be "authtoken".
	CompanyUUID, RequestToken string

	AccessTTL  time.Duration // zero: DefaultAccessTTL
	RefreshTTL time.Duration // zero: DefaultRefreshTTL; NoRefreshExpiry: none

	Style     string // DefaultStyle (zero value: Concur's), StyleKeycloak or StyleDex
	AuthStyle string // AuthEither (zero value), AuthParams or AuthHeader

	// Rotate makes refresh tokens single-use: the refresh grant returns a
	// new refresh token and the one sent stops working. Without Rotate the
	// same refresh token comes back, with its original expiry.
	Rotate bool

	// GrantedScope, when set, is the scope every grant is given, whatever was
	// asked (panva's oidc-provider grants "openid" to a request for "openid
	// offline_access" without consent). A refresh request that asks for a
	// scope the refresh token does not carry is refused (RFC 6749 §6).
	GrantedScope string

	// JWTAccessTokens issues access tokens as unsigned JWTs carrying "exp"
	// (KORE style); OmitExpiresIn then leaves expires_in out of the body,
	// so that the expiry can only be read from the token.
	JWTAccessTokens bool
	OmitExpiresIn   bool

	// Consent makes the authorization endpoint show a page where a person
	// approves or denies the request (interactive.go), instead of approving
	// at once.
	Consent bool

	// BaseURL is where a NewHandler server is reachable (URL, TokenURL,
	// and the default geolocation). New sets it itself.
	BaseURL string

	// ClientKey, when set, is the public key of a client that authenticates
	// with private_key_jwt (RFC 7523 §2.2) instead of ClientSecret: every
	// token request must carry a fresh assertion signed by it (assertion.go);
	// ClientKeyID, when set, is the kid it must name. ClientCert, when set,
	// is the certificate a client must present over TLS instead (RFC 8705):
	// serve the handler with TLS that asks for one (NewHandler).
	ClientKey   crypto.PublicKey
	ClientKeyID string
	ClientCert  *x509.Certificate

	Now func() time.Time // zero: time.Now
}

// Request is what the token endpoint last received. Form holds secrets:
// compare it, never print it.
type Request struct {
	Method, Path, Host string
	ContentType        string
	Form               url.Values
	Authorization      bool // an Authorization header was present
	BasicAuth          bool // and it was a parsable HTTP Basic header
}

// Server is a fake token endpoint. It is safe for concurrent use.
type Server struct {
	opts Options
	srv  *http.Server

	done      chan struct{} // closed by Close: ends hangs and delays
	closeOnce sync.Once

	mu           sync.Mutex
	requestToken string
	geolocation  string // "" = derived from the request's host
	counts       map[string]int
	total        int
	apiCount     int
	faults       []Fault
	jtis         map[string]bool // client assertions seen (replays are refused)
	last         Request
	seq          int
	access       map[string]time.Time      // access token → expiry
	refresh      map[string]refreshRecord  // live refresh tokens
	codes        map[string]pendingCode    // authorization codes not yet redeemed
	consents     map[string]pendingConsent // consent pages not yet answered
	devices      map[string]*deviceGrant   // device codes not yet redeemed
	failMode     string
}

type refreshRecord struct {
	expires time.Time // zero: never
	scope   string
	session string
}

// New starts a Server on a loopback port. Close it when done.
func New(o Options) *Server {
	s := NewHandler(o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("fakeserver: listen on a loopback port: %v", err))
	}
	// Set before serving so that handlers never race with this write.
	s.opts.BaseURL = "http://" + l.Addr().String()
	// net/http rather than httptest, which tokenkeeper's binary (demo) would
	// link with its test certificate and flags, initialised on every run.
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(l) }()
	return s
}

// NewHandler returns a Server that is not listening: serve it with an
// http.Server of your own, and set Options.BaseURL to where it is reachable.
func NewHandler(o Options) *Server {
	if o.ClientID == "" || o.ClientSecret == "" {
		panic("fakeserver: Options.ClientID and Options.ClientSecret are required")
	}
	if o.Style != "" && !knownStyle(o.Style) {
		panic(fmt.Sprintf("fakeserver: unknown Options.Style %q", o.Style))
	}
	if o.AuthStyle != AuthEither && o.AuthStyle != AuthParams && o.AuthStyle != AuthHeader {
		panic(fmt.Sprintf("fakeserver: unknown Options.AuthStyle %q", o.AuthStyle))
	}
	if o.Style == "" {
		o.Style = DefaultStyle
	}
	if o.AccessTTL == 0 {
		o.AccessTTL = DefaultAccessTTL
	}
	if o.RefreshTTL == 0 {
		o.RefreshTTL = DefaultRefreshTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.BaseURL = strings.TrimSuffix(o.BaseURL, "/")
	return &Server{
		opts:         o,
		done:         make(chan struct{}),
		requestToken: o.RequestToken,
		counts:       map[string]int{},
		access:       map[string]time.Time{},
		refresh:      map[string]refreshRecord{},
		codes:        map[string]pendingCode{},
		consents:     map[string]pendingConsent{},
		devices:      map[string]*deviceGrant{},
		jtis:         map[string]bool{},
	}
}

// Close ends pending hangs and delays and, for a Server from New, stops
// listening. It may be called more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.srv != nil {
			// As httptest's Close: wait for the requests being served.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if s.srv.Shutdown(ctx) != nil {
				_ = s.srv.Close()
			}
		}
	})
}

// URL is the server's base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) URL() string { return s.opts.BaseURL }

// TokenURL is URL()+TokenPath.
func (s *Server) TokenURL() string { return s.opts.BaseURL + TokenPath }

// APIURL is URL()+APIPath.
func (s *Server) APIURL() string { return s.opts.BaseURL + APIPath }

// Options returns the options in effect, defaults filled in.
func (s *Server) Options() Options { return s.opts }

// Count is the number of requests the token endpoint received with this
// grant_type, faulted and rejected ones included; Count("") counts all.
func (s *Server) Count(grant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if grant == "" {
		return s.total
	}
	return s.counts[grant]
}

// APICount is the number of requests APIPath received.
func (s *Server) APICount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiCount
}

// Last is the last request the token endpoint received.
func (s *Server) Last() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.last
	r.Form = cloneForm(r.Form)
	return r
}

// LastForm is the form of the last token request, secrets included.
func (s *Server) LastForm() url.Values { return s.Last().Form }

// RevokeRefreshTokens makes every refresh token issued so far invalid
// (invalid_grant, Concur code 108). Tokens issued later work.
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refresh)
}

// RevokeAccessTokens makes every access token issued so far invalid at
// APIPath and for ValidAccessToken.
func (s *Server) RevokeAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
}

// SetRequestToken changes the company request token the password grant
// accepts, e.g. to make the one a client holds stale (invalid_grant, code 5).
func (s *Server) SetRequestToken(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requestToken = v
}

// SetGeolocation sets the geolocation sent in Concur-style bodies; "" goes
// back to the default (BaseURL, else the scheme and host the request used).
func (s *Server) SetGeolocation(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.geolocation = strings.TrimSuffix(u, "/")
}

// Fail queues a fault. Each token request takes the oldest queued fault,
// if any, before anything else.
func (s *Server) Fail(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// PendingFaults is the number of queued faults not yet taken by a request.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// ValidAccessToken reports whether tok was issued here, is not revoked and
// has not expired by Options.Now.
func (s *Server) ValidAccessToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.access[tok]
	return ok && s.opts.Now().Before(exp)
}

// ValidRefreshToken reports whether tok would be accepted by the refresh
// grant now.
func (s *Server) ValidRefreshToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.liveRefresh(tok)
	return ok
}

// liveRefresh looks tok up; s.mu must be held.
func (s *Server) liveRefresh(tok string) (refreshRecord, bool) {
	rec, ok := s.refresh[tok]
	if !ok || (!rec.expires.IsZero() && !s.opts.Now().Before(rec.expires)) {
		return refreshRecord{}, false
	}
	return rec, true
}

// record counts a token request, remembers it and takes the next fault.
func (s *Server) record(r *http.Request, form url.Values) (Fault, bool) {
	_, _, basic := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	if g := form.Get("grant_type"); g != "" {
		s.counts[g]++
	}
	s.last = Request{
		Method: r.Method, Path: r.URL.Path, Host: r.Host,
		ContentType:   r.Header.Get("Content-Type"),
		Form:          cloneForm(form),
		Authorization: r.Header.Get("Authorization") != "",
		BasicAuth:     basic,
	}
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func cloneForm(v url.Values) url.Values {
	if v == nil {
		return url.Values{}
	}
	c := maps.Clone(v)
	for k, vs := range c {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
