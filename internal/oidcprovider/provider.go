// Package oidcprovider runs a real OpenID provider in process, for tests only:
// the op package of github.com/zitadel/oidc/v3 (Apache-2.0, Copyright The
// zitadel/oidc Contributors) with the in-memory storage of its example
// (github.com/zitadel/oidc/v3/example/server/storage, imported, not copied),
// wrapped to register one client of ours (authorization code with PKCE, the
// device grant, refresh tokens with offline_access, revocation) and to count
// what it is sent: every refresh token and every authorization code redeemed.
//
// The login and device-approval pages are minimal forms of our own, so that a
// scripted browser (Browse, ApproveDevice) can log in, refuse, or approve.
package oidcprovider

import (
	"context"
	"crypto"
	"crypto/sha256"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// The example storage's user (its username is test-user@<issuer host>).
const (
	Password = "verysecure"
	userID   = "id1"
)

// The example storage's service user: a client of the client_credentials grant.
const (
	ServiceClientID     = "sid1"
	ServiceClientSecret = "verysecret"
)

// Options shape the provider.
type Options struct {
	ClientID     string        // "": "tokenkeeper-test"
	ClientSecret string        // "": a public client (PKCE only)
	PollInterval time.Duration // device grant interval; 0: 1s
	// IssuerPath puts the issuer under a path ("/realms/test"), as Keycloak does.
	IssuerPath string
	// ClientKey, when set, makes the client confidential with
	// private_key_jwt (RFC 7523): its assertions are verified with this
	// public key, named ClientKeyID in their kid.
	ClientKey   crypto.PublicKey
	ClientKeyID string
}

// Provider is one running provider.
type Provider struct {
	Issuer   string
	ClientID string
	Username string

	srv   *httptest.Server
	store *store
	op    *op.Provider
}

// Start runs a provider on 127.0.0.1 until the test ends.
func Start(tb interface {
	Helper()
	Cleanup(func())
	Fatalf(string, ...any)
}, o Options) *Provider {
	tb.Helper()
	if o.ClientID == "" {
		o.ClientID = "tokenkeeper-test"
	}
	if o.PollInterval == 0 {
		o.PollInterval = time.Second
	}
	p := &Provider{ClientID: o.ClientID}
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(mux)
	tb.Cleanup(p.srv.Close)
	p.Issuer = p.srv.URL + o.IssuerPath
	users := storage.NewUserStore(p.Issuer)
	p.Username = users.GetUserByID(userID).Username
	base := storage.NewStorageWithClients(users, map[string]*storage.Client{o.ClientID: storage.NativeClient(o.ClientID)})
	p.store = &store{Storage: base, client: &client{id: o.ClientID, secret: o.ClientSecret, key: o.ClientKey, kid: o.ClientKeyID},
		refreshUses: map[string]int{}}
	cfg := &op.Config{
		CryptoKey:             sha256.Sum256([]byte("tokenkeeper test")),
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		// private_key_jwt at the token endpoint (code and refresh grants:
		// op's client credentials grant takes a secret only).
		AuthMethodPrivateKeyJWT: o.ClientKey != nil,
		SupportedUILocales:      []language.Tag{language.English},
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime: 5 * time.Minute, PollInterval: o.PollInterval,
			UserFormPath: "/device", UserCode: op.UserCodeBase20,
		},
	}
	prov, err := op.NewProvider(cfg, p.store, op.StaticIssuer(p.Issuer), op.WithAllowInsecure())
	if err != nil {
		tb.Fatalf("oidcprovider: %v", err)
	}
	p.op = prov
	intercept := op.NewIssuerInterceptor(prov.IssuerFromRequest)
	prefix := o.IssuerPath
	mux.HandleFunc("GET "+prefix+"/login/username", p.loginPage)
	mux.HandleFunc("POST "+prefix+"/login/username", intercept.HandlerFunc(p.login))
	mux.HandleFunc("GET "+prefix+"/device", p.devicePage)
	mux.HandleFunc("POST "+prefix+"/device", p.approveDevice)
	if prefix != "" {
		mux.Handle(prefix+"/", http.StripPrefix(prefix, prov))
	} else {
		mux.Handle("/", prov)
	}
	return p
}

// RefreshUses returns how many times each refresh token was presented at the
// token endpoint.
func (p *Provider) RefreshUses() map[string]int {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	out := make(map[string]int, len(p.store.refreshUses))
	for k, v := range p.store.refreshUses {
		out[k] = v
	}
	return out
}

// CodeUses is how many times an authorization code was looked up to be redeemed.
func (p *Provider) CodeUses() int {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	return p.store.codeUses
}

// RefreshTokenLive reports whether the provider still accepts refresh token rt.
func (p *Provider) RefreshTokenLive(rt string) bool {
	_, err := p.store.Storage.TokenRequestByRefreshToken(context.Background(), rt)
	return err == nil
}

// RevokeAll revokes every refresh token of the user, as an administrator
// ending the user's sessions would.
func (p *Provider) RevokeAll() {
	p.store.Storage.TerminateSession(context.Background(), userID, p.ClientID)
}

func (p *Provider) loginPage(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, `<!doctype html><form method="post"><input type="hidden" name="id" value="%s">
<input name="username"><input name="password" type="password">
<button name="action" value="allow">Log in</button><button name="action" value="deny">Refuse</button></form>`,
		html.EscapeString(r.URL.Query().Get("authRequestID")))
}

// login checks the form and sends the browser back through the provider to the
// client's redirect_uri: with a code, or with error=access_denied.
func (p *Provider) login(w http.ResponseWriter, r *http.Request) {
	id := r.FormValue("id")
	if r.FormValue("action") == "deny" {
		req, err := p.store.AuthRequestByID(r.Context(), id)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		op.AuthRequestError(w, r, req, oidc.ErrAccessDenied().WithDescription("the user refused"), p.op)
		return
	}
	if err := p.store.CheckUsernamePassword(r.FormValue("username"), r.FormValue("password"), id); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), id), http.StatusFound)
}

func (p *Provider) devicePage(w http.ResponseWriter, r *http.Request) {
	fmt.Fprint(w, `<!doctype html><form method="post"><input name="user_code"><input name="username"><input name="password" type="password">
<button name="action" value="allow">Allow</button><button name="action" value="deny">Refuse</button></form>`)
}

func (p *Provider) approveDevice(w http.ResponseWriter, r *http.Request) {
	if err := p.store.CheckUsernamePasswordSimple(r.FormValue("username"), r.FormValue("password")); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	code := r.FormValue("user_code")
	if _, err := p.store.GetDeviceAuthorizationByUserCode(r.Context(), code); err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	var err error
	if r.FormValue("action") == "deny" {
		err = p.store.DenyDeviceAuthorization(r.Context(), code)
	} else {
		err = p.store.CompleteDeviceAuthorization(r.Context(), code, userID)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, "done; return to the device")
}

// store is the example storage with our client and counters.
type store struct {
	*storage.Storage
	client *client

	mu          sync.Mutex
	refreshUses map[string]int
	codeUses    int
}

func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	if id != s.client.id {
		return nil, errors.New("client not found")
	}
	return s.client, nil
}

func (s *store) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if id != s.client.id || s.client.secret == "" || secret != s.client.secret {
		return errors.New("invalid client")
	}
	return nil
}

// GetKeyByIDAndClientID gives op the key that verifies our client's
// assertions.
func (s *store) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	if clientID != s.client.id || s.client.key == nil {
		return s.Storage.GetKeyByIDAndClientID(ctx, keyID, clientID)
	}
	if keyID != s.client.kid {
		return nil, fmt.Errorf("no key %q for client %q", keyID, clientID)
	}
	return &jose.JSONWebKey{KeyID: keyID, Use: "sig", Key: s.client.key}, nil
}

func (s *store) TokenRequestByRefreshToken(ctx context.Context, rt string) (op.RefreshTokenRequest, error) {
	s.mu.Lock()
	s.refreshUses[rt]++
	s.mu.Unlock()
	return s.Storage.TokenRequestByRefreshToken(ctx, rt)
}

func (s *store) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	s.codeUses++
	s.mu.Unlock()
	return s.Storage.AuthRequestByCode(ctx, code)
}

// CreateAccessAndRefreshTokens gives the device grant what the example storage
// only knows of its own auth requests: the client and user of the grant.
func (s *store) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if st, ok := req.(*op.DeviceAuthorizationState); ok {
		req = &storage.AuthRequest{ApplicationID: st.ClientID, UserID: st.Subject, Scopes: st.Scopes}
	}
	return s.Storage.CreateAccessAndRefreshTokens(ctx, req, current)
}

// client is a native client (loopback redirects on any port, RFC 8252) that
// may use the code, device and refresh grants.
type client struct {
	id, secret string
	key        crypto.PublicKey // private_key_jwt's, when set
	kid        string
}

func (c *client) GetID() string { return c.id }
func (c *client) RedirectURIs() []string {
	return []string{"http://127.0.0.1/callback", "http://localhost/callback", "http://[::1]/callback"}
}
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeNative }
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.key != nil {
		return oidc.AuthMethodPrivateKeyJWT
	}
	if c.secret == "" {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodPost
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
}
func (c *client) LoginURL(id string) string {
	return "login/username?authRequestID=" + id
}
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return 5 * time.Minute }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
