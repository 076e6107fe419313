package refresh

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// ActionLoggedIn ends a run of Login: a new grant started by a person.
const ActionLoggedIn = "logged in"

// LoginOptions change one Login.
type LoginOptions struct {
	// Device runs the device grant whatever grantType says.
	Device bool
	// Open opens the authorization URL in a browser; nil only shows it.
	Open func(authURL string) error
	// Notify shows a line to the person; nil shows nothing (then nobody can
	// log in: the CLI always sets it).
	Notify func(msg string)
	// Wait bounds the login; 0: DefaultLoginWait, or the device code's lifetime
	// (at most an hour).
	Wait time.Duration
}

// Login runs the profile's interactive grant (authorization code with PKCE, or
// the device grant) and saves the result as a bootstrap does: under the
// profile lock, after the save check, to the token file. The lock is taken
// only once the person has approved (it is not held while they read their
// mail), and for the authorization code before the code is redeemed, with
// the save check again; the device grant's answer comes with the approval,
// and is saved if it fits (the check was made before the person was asked). A refused,
// abandoned or timed-out login saves nothing; its *Error quotes the provider's
// code (see loginError for the kinds).
func (m *Manager) Login(ctx context.Context, o LoginOptions) (*Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.newRun()
	if err != nil {
		return nil, err
	}
	if err := CheckLogin(r.creds); err != nil {
		return nil, err
	}
	if err := r.loadClientAuth(); err != nil {
		return nil, err
	}
	ep, err := m.resolveEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	// Before a person is asked for anything: a grant that cannot be saved is
	// a person's time wasted. The lock is held for the check only.
	if err := r.checkSavableNow(ctx); err != nil {
		return nil, err
	}
	cfg := r.loginConfig(ep)
	cfg.Open, cfg.Notify, cfg.Wait = o.Open, o.Notify, o.Wait
	var lock storage.Locked
	defer func() {
		if lock != nil {
			lock.Unlock()
		}
	}()
	cfg.BeforeExchange = func(ctx context.Context) error {
		l, err := r.lockStore(ctx)
		if err != nil {
			return err
		}
		lock = l
		return r.checkSavable()
	}
	device := o.Device || r.creds.GrantType == credentials.GrantDeviceCode
	var tok *Token
	if device {
		tok, err = m.client.Device(ctx, cfg)
	} else {
		tok, err = m.client.AuthorizationCode(ctx, cfg)
	}
	if err != nil {
		return nil, m.loginError(err, device)
	}
	if lock == nil {
		// The device grant: the answer is in, the grant issued; save it under
		// the lock. The save check is for before a request: here it could
		// only throw away a grant that fits in what space is left (the save
		// cuts an answer down to what the lifecycle needs, as any save does).
		l, err := r.lockStore(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		lock = l
	}
	old, err := r.reload()
	if err != nil {
		if err := r.setAside(err); err != nil {
			return nil, err
		}
	}
	tok.carryUnknown(old)
	tok.TokenURL = ep.Token
	// Saved as any grant's answer is: an access token left out of it is said,
	// and the run ends for now with the refresh token saved.
	return r.saveAnswer(tok, tok.AccessToken, ActionLoggedIn)
}

// CheckLogin refuses a login for a grant that no person starts (client
// credentials, password, a pasted refresh token): nothing would be logged in
// to, and no browser may be opened or device code asked for it. Only
// grantType authorization_code and device_code log in (the device grant may
// stand in for the browser of an authorization_code profile). The failure is
// the credentials file's (78), found before anything else is done.
func CheckLogin(c *credentials.Credentials) error {
	if c == nil || credentials.Interactive(c.GrantType) {
		return nil
	}
	return &Error{Kind: KindCredentials,
		Msg: fmt.Sprintf("grantType %s in %s is not started by a person: only grantType %s or %s logs in",
			c.GrantType, c.Path, credentials.GrantAuthorizationCode, credentials.GrantDeviceCode),
		Hint: fmt.Sprintf("grantType %s gets its tokens without a login; to log in instead, set grantType to %s (or %s) in %s",
			c.GrantType, credentials.GrantAuthorizationCode, credentials.GrantDeviceCode, c.Path)}
}

func (r *run) loginConfig(ep *Endpoints) LoginConfig {
	c := r.creds
	return LoginConfig{Endpoints: *ep, ClientID: c.AppID, ClientSecret: c.ClientSecret, Auth: r.auth,
		AuthStyle: concreteStyle(c.SecretStyle()), Scope: c.Scope, AuthParams: c.AuthParams, RedirectURL: c.RedirectURL}
}

// resolveEndpoints is Client.ResolveEndpoints, remembered for the Manager's
// life (discovery is one request per run at most), with errors that say
// what to do.
func (m *Manager) resolveEndpoints(ctx context.Context) (*Endpoints, error) {
	if ep := m.endpoints.Load(); ep != nil {
		return ep, nil
	}
	ep, err := m.client.ResolveEndpoints(ctx, m.creds())
	if err != nil {
		var te *TransientError
		var ce *Error
		if errors.As(err, &ce) {
			return nil, err
		}
		if errors.As(err, &te) {
			return nil, &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Next: NextLater,
				Hint: "the provider's discovery document could not be fetched"}
		}
		return nil, &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Next: NextRunAgain,
			Hint: fmt.Sprintf("check issuer in %s (or set tokenURL, authURL, deviceAuthURL and revocationURL instead)", m.creds().Path)}
	}
	m.endpoints.Store(ep)
	return ep, nil
}

// loginError says what an ended login means. The exit table's kinds:
// access_denied (the person or the provider said no) needs a human: 77;
// expired_token, a timeout or an interruption is a login not finished, worth
// another try: 75; a refusal of the client or the request (invalid_client,
// invalid_scope, unauthorized_client, a redirect the provider does not know)
// is the credentials file: 78.
func (m *Manager) loginError(err error, device bool) error {
	again := NextLogin
	if device {
		again = NextLoginDevice
	}
	var le *LoginError
	var ee *EndpointError
	switch {
	case errors.As(err, &le) && le.Code == "access_denied":
		return &Error{Kind: KindNeedsHuman, Err: err, Msg: err.Error(), Next: again,
			Hint: "the login was refused; to try again, log in and approve the request"}
	case errors.As(err, &le) && le.Refused:
		// Not the person's slowness: the answer that came back is not one
		// to redeem. A new login starts clean.
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Next: again,
			Hint: "the browser's answer was refused and nothing was redeemed; log in again, on the provider's own pages"}
	case errors.As(err, &le) && le.Code == "" && le.Reason == ReasonInterrupted:
		// The person stopped it: nothing to do in time, only the login to
		// start again (Next's command).
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Next: again}
	case errors.As(err, &le) && (le.Code == "expired_token" || le.Code == ""):
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Next: again,
			Hint: "log in again and finish the login in time"}
	case errors.As(err, &le):
		return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(),
			Hint: fmt.Sprintf("the provider refused the request; check appID, scope, redirectURL and authParams in %s", m.creds().Path)}
	case errors.As(err, &ee) && isGrantRefusal(ee, refusalProvider(ee, m.creds())):
		// The code or device code was refused when redeemed: expired, or the
		// verifier did not match. A new login gets a new one.
		return &Error{Kind: KindNeedsHuman, Err: err, Msg: err.Error(), Next: again,
			Hint: "the provider did not accept the login's code; log in again"}
	case errors.As(err, &ee):
		return m.classify(err)
	}
	var lerr *ListenError
	if errors.As(err, &lerr) {
		return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(),
			Hint: fmt.Sprintf("the browser comes back to %s (redirectURL in %s): stop what listens there (another login?), or set redirectURL to another port the provider knows", lerr.Addr, m.creds().Path)}
	}
	var de *deviceAnswerError
	if errors.As(err, &de) {
		return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(),
			Hint: fmt.Sprintf("deviceAuthURL (or issuer) in %s does not lead to a device authorization endpoint; check it, or log in with the browser instead", m.creds().Path)}
	}
	var te *TransientError
	if errors.As(err, &te) || errors.Is(err, context.Canceled) {
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Next: again,
			Hint: "the provider did not answer; nothing was saved: log in again later"}
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Hint: fmt.Sprintf("check the fields of %s", m.creds().Path)}
}

// LogoutResult is what Logout did.
type LogoutResult struct {
	Revoked       bool   // the revocation endpoint accepted the refresh token
	RevocationURL string // where it was revoked; "" when the provider has none
	MovedTo       string // where the token record was set aside; "" when there was none
	// Forgotten is the token file whose tokens were removed, no copy kept,
	// when nothing was revoked (the grant is still live at the provider).
	Forgotten string
	// NotRevocable is the revocation endpoint's answer when it does not revoke
	// refresh tokens (RFC 7009 §2.2.1 unsupported_token_type): the tokens are
	// forgotten as without an endpoint, and the grant may still be live.
	NotRevocable string
	// Unrevoked, when the provider has a revocation endpoint and nothing was
	// sent to it, says why: the record held no refresh token, or could not
	// be read (then a refresh token in it may still be live).
	Unrevoked string
	// Next is what a later run needs, the decision on what logout left: nil
	// when it gets a new grant by itself (client credentials, password); else
	// a person logs in again, or pastes a new seed refresh token.
	Next *Error
}

// notRevocable is a revocation's answer when it is RFC 7009 §2.2.1's
// unsupported_token_type (nil otherwise): the endpoint does not revoke that
// kind of token. Nothing was revoked, and asking again will not change that.
func notRevocable(err error) *EndpointError {
	var ee *EndpointError
	if errors.As(err, &ee) && ee.Code == "unsupported_token_type" {
		return ee
	}
	return nil
}

// LoggedOutLabel names a token record that logout set aside after revoking
// its refresh token: refreshTokenObjectFile.json.logged-out-<UTC time>. It is
// not "corrupt": nothing was wrong with it.
const LoggedOutLabel = "logged-out"

// Logout revokes the stored refresh token at the revocation endpoint (RFC 7009,
// with the client's authentication when it has a secret) and sets the token
// record aside (LoggedOutLabel) without its tokens (Token.withoutTokens: the
// access token may stay valid at the provider until it expires), under the
// profile lock; later runs need a login. When the provider has no revocation endpoint, Revoked is false: the
// grant is still live at the provider, and the record's tokens are forgotten —
// replaced by a record without them, no copy kept, since a live grant set aside
// is a live grant left on disk. When revocation fails, nothing is forgotten.
// Either way a seed refresh token the grant was started from (grantType
// refresh_token) stays known as spent in the record left behind: logging out
// never makes a spent seed worth sending again.
func (m *Manager) Logout(ctx context.Context) (*LogoutResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.newRun()
	if err != nil {
		return nil, err
	}
	lock, err := r.lockStore(ctx)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	res := &LogoutResult{}
	tok, err := r.reload()
	var fe *CorruptRecordError
	switch {
	case errors.As(err, &fe): // nothing we can revoke; forget it all the same
	case err != nil: // what token and status say of it too (Decide)
		return nil, unreadableRecord(err, m.Paths.TokenFile)
	case tok == nil || tok.AccessToken == "" && tok.RefreshToken == "":
		return res, nil // none, or what an earlier logout left
	}
	ep, err := m.resolveEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.loadClientAuth(); err != nil {
		return nil, err
	}
	res.RevocationURL = ep.Revocation
	if tok != nil && tok.RefreshToken != "" && ep.Revocation != "" {
		err := m.client.Revoke(ctx, r.loginConfig(ep), tok.RefreshToken, "refresh_token")
		switch ee := notRevocable(err); {
		case ee != nil:
			res.NotRevocable = describeRefusal(ee)
		case err != nil:
			return nil, m.revokeError(err)
		default:
			res.Revoked = true
		}
	}
	switch {
	case ep.Revocation == "" || res.Revoked || res.NotRevocable != "":
	case fe != nil:
		res.Unrevoked = "the token record could not be read, so nothing was revoked at the provider: a refresh token in it may still be live there"
	default:
		res.Unrevoked = "the token record held no refresh token, so nothing was revoked at the provider; an access token stays valid there until it expires"
	}
	left := &Token{SeedFingerprint: m.spentSeedFingerprint(tok, fe)}
	if tok != nil && !res.Revoked {
		if err := saveRecord(ctx, lock, left); err != nil {
			return res, &Error{Kind: KindUnexpected, Err: err, Msg: err.Error(), Hint: fmt.Sprintf("remove %s by hand", m.Paths.TokenFile)}
		}
		res.Forgotten = m.Paths.TokenFile
		res.Next = m.decide(left, nil, Options{}, time.Time{}, 0).Err
		return res, nil
	}
	if fe != nil { // damaged, as the lifecycle would have found it
		res.MovedTo, err = lock.SetAside(ctx, m.now())
	} else if err = saveRecord(ctx, lock, tok.withoutTokens()); err == nil {
		res.MovedTo, err = lock.SetAsideAs(ctx, LoggedOutLabel, m.now())
	}
	if err != nil {
		return res, &Error{Kind: KindUnexpected, Err: err, Msg: err.Error(), Hint: fmt.Sprintf("move %s away by hand", m.Paths.TokenFile)}
	}
	if left.SeedFingerprint != "" {
		if err := saveRecord(ctx, lock, left); err != nil {
			// The seed would be sent again by the next run: say so, loudly.
			return res, &Error{Kind: KindUnexpected, Err: err, Msg: fmt.Sprintf("logged out, but recording that the refreshToken in %s was already used failed: %v", r.creds.Path, err),
				Hint: fmt.Sprintf("remove refreshToken from %s: it was already used and must not be sent again", r.creds.Path)}
		}
	} else {
		left = nil
	}
	res.Next = m.decide(left, nil, Options{}, time.Time{}, 0).Err
	return res, nil
}

// spentSeedFingerprint is the fingerprint of the seed refresh token that the
// record shows was already sent ("" when none): the record's own, or, under
// grantType refresh_token, the credentials' seed when the record holds it
// itself or (unparseable) names it.
func (m *Manager) spentSeedFingerprint(tok *Token, fe *CorruptRecordError) string {
	if tok != nil && tok.SeedFingerprint != "" {
		return tok.SeedFingerprint
	}
	c := m.creds()
	if c == nil || c.GrantType != credentials.GrantRefreshToken || c.RefreshToken == "" {
		return ""
	}
	if tok != nil && tok.RefreshToken == c.RefreshToken || fe != nil && seedInRecord(fe.data, c.RefreshToken) {
		return fingerprint(c.RefreshToken)
	}
	return ""
}

func (m *Manager) revokeError(err error) error {
	var te *TransientError
	if errors.As(err, &te) || errors.Is(err, context.Canceled) {
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Next: NextLogout,
			Hint: "the revocation endpoint did not answer; nothing was forgotten"}
	}
	return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(),
		Hint: fmt.Sprintf("the revocation endpoint refused the request; the token is kept in %s; check appID and clientSecret in %s", m.Paths.TokenFile, m.creds().Path)}
}

// RevokeAt is where a person revokes a grant by hand at providers without a
// revocation endpoint, or "" when unknown.
func RevokeAt(ep Endpoints) string {
	u, err := url.Parse(cmp.Or(ep.Token, ep.Issuer))
	if err != nil {
		return ""
	}
	switch u.Hostname() {
	case "github.com":
		return "https://github.com/settings/applications"
	case "login.microsoftonline.com":
		return "https://myaccount.microsoft.com (Settings & Privacy, or the app's page in the Entra admin center)"
	}
	return ""
}

// lockStore takes the store's lock for a login or logout, waiting at most the
// lock timeout; the run's steps (checkSavable, save, setAside) then use it.
func (r *run) lockStore(ctx context.Context) (storage.Locked, error) {
	l, err := r.m.store().Lock(ctx, r.m.lockTimeout(), r.m.holder())
	if err != nil {
		return nil, lockError(err)
	}
	r.lock = l
	return l, nil
}

// checkSavableNow is the save check under the lock, released at once.
func (r *run) checkSavableNow(ctx context.Context) error {
	l, err := r.lockStore(ctx)
	if err != nil {
		return err
	}
	defer l.Unlock()
	return r.checkSavable()
}
