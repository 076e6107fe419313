package refresh

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Defaults of the lifecycle's knobs (docs/contract.md §2).
const (
	DefaultMargin      = 60 * time.Second
	DefaultLockTimeout = 60 * time.Second
	DefaultWarnBefore  = 7 * 24 * time.Hour
	reserveBytes       = 64 << 10
)

// Actions a run can end in.
const (
	ActionValid        = "valid"        // the stored access token was good enough
	ActionRefreshed    = "refreshed"    // renewed with the refresh grant
	ActionBootstrapped = "bootstrapped" // a new grant from credentials.json
	ActionKept         = "kept"         // renewal failed for now, the stored token is still valid
)

// Manager runs the token lifecycle of one profile: read, check, renew, save. It is
// safe for concurrent use: callers in one process share one request (a mutex), and
// processes share one through the profile's lock file. It holds what lasts
// between runs (configuration, client, caches); what one run holds is a run.
type Manager struct {
	// Creds are the profile's credentials. When nil, LoadCredentials is called
	// the first time they are needed: a valid token on disk needs none.
	Creds           *credentials.Credentials
	LoadCredentials func() (*credentials.Credentials, error)
	Paths           storage.Paths
	// Store keeps the token record and its lock; nil: the file store of Paths
	// (storage.OpenFileStore).
	Store       storage.Store
	Client      *Client
	Clock       Clock         // nil: SystemClock
	Margin      time.Duration // renew when less than this is left; 0: DefaultMargin
	LockTimeout time.Duration // 0: DefaultLockTimeout
	WarnBefore  time.Duration // warn when the refresh token dies within this; 0: DefaultWarnBefore
	Holder      string        // names this process in the lock file, e.g. "tokenkeeper token"; "": the program's name
	// Outage, when set, remembers for a few seconds a token endpoint that
	// did not answer, for callers that run many times in a row (outage.go).
	Outage *Outage
	Log    *slog.Logger // nil: silent
	// Secrets, when set, is told every token value the manager reads or
	// receives, before any message that could quote it: an endpoint may echo a
	// token in an error, and only the caller knows where messages go. It may be
	// called from several goroutines at once.
	Secrets func(values ...string)

	// trustHost, when set, replaces the provider's host rule for routing
	// (credentials.Provider.Route): tests only, so that loopback fakes can
	// stand for a provider's data centres.
	trustHost func(*url.URL) bool

	initOnce sync.Once
	client   *Client // Client, or a default one, with the Manager's clock

	mu        sync.Mutex
	loaded    atomic.Pointer[credentials.Credentials] // what LoadCredentials gave
	endpoints atomic.Pointer[Endpoints]               // resolved (discovered) once

	tokens tokenCache // the last token handed out (TokenSource, Transport)
}

// Options change one run.
type Options struct {
	Force    bool          // renew even if valid (unless another caller renewed since this one was asked)
	MinValid time.Duration // the token must stay valid this long (raises the margin)
	// Regrant gets a new grant from the credentials even when the stored
	// tokens are good: setup uses it to prove credentials it just changed.
	Regrant bool
	// Retry asks the provider once more past a remembered refusal, with the
	// credentials as they are: a person's answer to a verdict that was wrong
	// or has passed (the provider recovered). It sends one request: the
	// grant's own when the refusal was of the credentials, or the refused
	// refresh token when only a person could start a new grant. Nothing
	// automatic sets it: cron never lifts a refusal by itself.
	Retry bool
	// Stale, with Force, is the access token the caller wants replaced (an API
	// refused it, or a timer was set for it). If the stored token is another, valid
	// one, someone renewed already and it is returned: fifty 401s, one renewal.
	Stale string
}

// satisfiedBy reports whether a valid tok is what a call made at asked wants:
// any valid token for a plain call; for Force, one obtained since the call was
// made, or another than the Stale one (someone renewed already); never for
// Regrant.
func (o Options) satisfiedBy(tok *Token, asked time.Time) bool {
	switch {
	case o.Regrant:
		return false
	case !o.Force:
		return true
	}
	return !tok.ObtainedAt.Before(asked) || (o.Stale != "" && tok.AccessToken != o.Stale)
}

// Result is what a run did.
type Result struct {
	Token    *Token
	Action   string
	Warnings []string // for stderr: e.g. the refresh token expires soon
	// Next is what a person does about Warnings, beyond their words: NextLogin
	// when the refresh token dies and only a login renews the grant.
	Next NextStep
	// Retry: the access token still serves, but Warnings say that a refusal
	// is remembered (Plan.Retry); a person may ask once more (Options.Retry).
	Retry bool
}

// run is one pass of the lifecycle: Ensure past its lock-free fast path,
// Login, Logout; its steps are its methods. Only a caller holding m.mu makes
// one (newRun), and drops it before unlocking, so a run is never shared
// between goroutines and its fields need no lock. Of the Manager a run reads
// the configuration and never writes it; it uses what a holder of m.mu may:
// the client settled by newRun, the credentials loaded under m.mu, the
// endpoints cache (atomic: read without m.mu too), the token cache (result
// offers to it; TokenSource and Transport read it without m.mu) and Outage
// (which locks itself).
type run struct {
	m *Manager
	// creds are the Manager's credentials as the run found them: only a
	// holder of m.mu loads them again (ReloadCredentials).
	creds  *credentials.Credentials
	o      Options       // what the caller asked for
	asked  time.Time     // when the caller asked (Options.satisfiedBy)
	margin time.Duration // the Manager's margin, raised by o.MinValid
	// lock is the store's lock once the run holds it (acquire, lockStore):
	// every read, check and save of the run goes through it.
	lock  storage.Locked
	auth  *ClientAuth // the client's key for this run (loadClientAuth)
	warns []string    // what the run has to say so far, whatever it ends in (Result.Warnings)
}

// Token returns a valid access token, renewing it first when needed.
func (m *Manager) Token(ctx context.Context) (*Token, error) {
	r, err := m.Ensure(ctx, Options{})
	if err != nil {
		return nil, err
	}
	return r.Token, nil
}

// Ensure runs the lifecycle once (docs/contract.md §2 steps 2–8). A valid token on disk is
// returned after one read and no lock: files are only ever replaced by rename.
func (m *Manager) Ensure(ctx context.Context, o Options) (*Result, error) {
	asked := m.now()
	margin := max(m.margin(), o.MinValid)
	if !o.Force && !o.Regrant {
		if tok, err := m.Load(); err == nil {
			if p := m.decide(tok, nil, o, asked, margin); p.Step == StepNothing {
				m.noRequest(p.Why, "")
				return m.kept(p), nil
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, err := m.newRun()
	if err != nil {
		return nil, err
	}
	r.o, r.asked, r.margin = o, asked, margin
	lock, tok, err := r.acquire(ctx)
	if err != nil {
		if res := m.keepWhileUnavailable(err); res != nil {
			return res, nil
		}
		return nil, lockError(err)
	}
	if tok != nil {
		return m.result(tok, ActionValid, nil), nil
	}
	defer lock.Unlock()
	return r.executePlan(ctx)
}

// lockPoll is how long one wait for the lock lasts before the token file is
// read again.
const lockPoll = 10 * time.Millisecond

// acquire takes the profile lock, waiting at most the lock timeout. While
// another process holds it — renewing, most likely — it reads the token file
// between attempts, and when the holder has saved a token this caller can use,
// returns that instead, without taking the lock: in a stampede, the waiters
// leave as soon as the file is renewed instead of passing the lock along one
// by one.
func (r *run) acquire(ctx context.Context) (storage.Locked, *Token, error) {
	start := time.Now()
	deadline := start.Add(r.m.lockTimeout())
	store := r.m.store()
	poll := lockPoll
	if lp, ok := store.(storage.LockPoller); ok {
		poll = lp.LockPoll()
	}
	waiting, resume := false, func() {}
	defer func() { resume() }()
	for {
		lock, err := store.Lock(ctx, min(time.Until(deadline), poll), r.m.holder())
		var busy *storage.LockBusyError
		if !errors.As(err, &busy) {
			r.lock = lock
			return lock, nil, err
		}
		// Waiting for another holder is bounded by the lock timeout, not
		// the run's budget: the budget is paused while this run waits.
		if !waiting && r.m.client != nil {
			waiting, resume = true, r.m.client.Budget.Pause()
		}
		// A caller's deadline that has passed makes AcquireLock report busy at
		// once, for ever: stop here rather than spin until ours.
		if !time.Now().Before(deadline) || ctx.Err() != nil {
			busy.Waited = time.Since(start)
			return nil, nil, err
		}
		tok, lerr := r.m.Load()
		if lerr != nil {
			continue
		}
		if p := r.decide(tok, nil); p.Step == StepNothing {
			r.m.noRequest(p.Why, "another process renewed the token; ")
			return nil, p.Token, nil
		}
	}
}

// decide is the Manager's decide with the run's options.
func (r *run) decide(tok *Token, tokErr error) Plan {
	return r.m.decide(tok, tokErr, r.o, r.asked, r.margin)
}

// decide is Decide on the manager's credentials and clock.
func (m *Manager) decide(tok *Token, tokErr error, o Options, asked time.Time, margin time.Duration) Plan {
	return Decide(State{Creds: m.creds(), Token: tok, TokenErr: tokErr, Record: m.recordName(), Now: m.now()},
		Policy{Options: o, Margin: margin, WarnBefore: m.warnBefore(), Asked: asked, NoRefreshWarnings: true,
			Explain: m.debugging()})
}

// noRequest logs why a run sends nothing: the plan's Why, in detail only
// when debugging (Policy.Explain). Not debugging, it does nothing, not even
// join the words: it runs on the fast path of every valid token.
func (m *Manager) noRequest(why, prefix string) {
	if m.debugging() {
		m.debug("no request: " + prefix + why)
	}
}

// executePlan is the lifecycle under the profile lock: it carries out the plan.
func (r *run) executePlan(ctx context.Context) (*Result, error) {
	tok, err := r.reload()
	p := r.decide(tok, err)
	if p.SetAside {
		if err := r.setAside(err); err != nil {
			return nil, err
		}
	}
	r.warns = append(r.warns, p.Warnings...)
	carry := tok // its unknown fields survive even a new grant
	switch p.Step {
	case StepNothing:
		r.m.noRequest(p.Why, "")
		res := r.m.kept(p)
		res.Warnings = r.warns
		return res, nil
	case StepHuman:
		return &Result{Warnings: r.warns}, p.Err
	}
	if err := r.checkSavable(); err != nil {
		return nil, err
	}
	if err := r.loadClientAuth(); err != nil {
		return nil, err
	}
	if p.Step == StepRefresh {
		res, err := r.refreshGrant(ctx, p.Token, true)
		if !errors.Is(err, errInvalidGrant) {
			return res, err
		}
		// The refresh token is dead: remember it, and decide again without it
		// (a retry has had its one request).
		refused := *p.Token
		refused.Refusal = &Refusal{At: r.m.now().UTC(), Refresh: fingerprint(refused.RefreshToken)}
		r.remember(&refused, carry)
		r.o.Retry = false
		if p = r.decide(&refused, nil); p.Step == StepHuman {
			return &Result{Warnings: r.warns}, p.Err
		}
		// Remembering it used the space reserved for the answer: reserve
		// again before the new grant is asked for.
		if err := r.checkSavable(); err != nil {
			return &Result{Warnings: r.warns}, err
		}
	}
	return r.bootstrap(ctx, p.Token, carry)
}

// rememberRefusal remembers a refusal of these credentials, beside the token
// still in force (whose refresh token may be dead already).
func (r *run) rememberRefusal(old, carry *Token, ee *EndpointError) {
	rec := &Token{TokenURL: r.creds.TokenURL}
	if old != nil {
		c := *old
		rec = &c
	}
	ref := &Refusal{}
	if rec.Refusal != nil {
		*ref = *rec.Refusal
	}
	ref.At, ref.Bootstrap, ref.Credentials = r.m.now().UTC(), answerOf(ee), CredentialsFingerprint(r.creds)
	rec.Refusal = ref
	r.remember(rec, carry)
}

// remember saves the record with its refusal, so that the next runs know without
// asking. A failure to save is only logged: the run fails anyway.
func (r *run) remember(tok, carry *Token) {
	if tok.raw == nil {
		tok.raw = map[string]json.RawMessage{}
		tok.carryUnknown(carry)
	}
	if err := saveRecord(context.Background(), r.lock, tok); err != nil { // remember runs under the lock
		r.m.debug("could not remember the refusal", "err", err)
	}
}

// saveRecord writes tok as the token record under lock.
func saveRecord(ctx context.Context, lock storage.Locked, tok *Token) error {
	data, err := tok.MarshalFile()
	if err != nil {
		return err
	}
	return lock.Save(ctx, data)
}

// errInvalidGrant marks a dead refresh token (refreshTokenDead), whatever the
// endpoint's words: the caller remembers it and starts a new grant.
var errInvalidGrant = errors.New("invalid_grant")

// refreshGrant renews with tok's refresh token. retry allows one more refresh
// after a lost race, with the refresh token the winner saved.
func (r *run) refreshGrant(ctx context.Context, tok *Token, retry bool) (*Result, error) {
	if err := r.settleTokenURL(ctx, tok); err != nil {
		return &Result{Warnings: r.warns}, err
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
	if sc := r.m.refreshScope(tok); sc != "" {
		form.Set("scope", sc)
	}
	req := r.request(r.refreshURL(tok), form, r.m.refreshStyle(tok))
	nt, tokenURL, err := r.sendRefresh(ctx, req, tok)
	var ee *EndpointError
	if errors.As(err, &ee) && ee.Code == "invalid_scope" && form.Has("scope") {
		// An error answer spent nothing: ask again for the scope the grant
		// was given (RFC 6749 §6), once.
		r.warns = append(r.warns, fmt.Sprintf("the token endpoint refused the scope sent with the refresh token (%s); asked again without one", describeRefusal(ee)))
		req.Form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
		nt, tokenURL, err = r.sendRefresh(ctx, req, tok)
	}
	var le *leaseError
	if errors.As(err, &le) {
		return &Result{Warnings: r.warns}, le.err
	}
	switch {
	case err == nil:
		access := nt.AccessToken
		nt.merge(tok)
		nt.RefreshFixed = !nt.RefreshExpiry.IsZero() && !nt.RefreshExpiry.After(tok.RefreshExpiry)
		nt.TokenURL = tokenURL
		return r.saveAnswer(nt, access, ActionRefreshed)
	case errors.As(err, &ee) && r.m.refreshTokenDead(ee):
		// A lost race with a process that ignores our lock: use what it saved. If
		// it saved no access token we can trust (the tutorial's format has no
		// expiry), its refresh token is one we never sent: renewing with it is no
		// replay, and spares a bootstrap — or a human, for grantType refresh_token.
		if disk, lerr := r.reload(); lerr == nil && disk != nil && disk.RefreshToken != tok.RefreshToken {
			switch p := r.m.decide(disk, nil, Options{}, r.m.now(), 0); {
			case p.Step == StepNothing:
				return r.m.result(disk, ActionValid, r.warns), nil
			case p.Step == StepRefresh && retry:
				r.m.debug("refresh token refused, but another process saved a new one; renewing with that")
				return r.refreshGrant(ctx, disk, false)
			}
		}
		if credentials.Interactive(r.creds.GrantType) {
			r.warns = append(r.warns, fmt.Sprintf("the refresh token was refused (%s)", describeRefusal(ee)))
		} else {
			r.warns = append(r.warns, fmt.Sprintf("the refresh token was refused (%s); getting a new grant from %s", describeRefusal(ee), r.creds.Path))
		}
		return &Result{Warnings: r.warns}, errInvalidGrant
	}
	return r.keepOrFail(tok, err)
}

// settleTokenURL decides where a refresh of a grant found through the issuer
// goes. The record's token_url (discovery's answer, kept so that a run does not
// ask again) is taken only from the user's own file, or when it lies on the
// issuer's own origin, and always only as a URL a token may be sent to: a
// record in a shared store is written by other hosts, and must not send this
// host's refresh token and client credentials (or an assertion whose aud names
// the issuer) anywhere else. Otherwise the issuer's discovery document
// decides. With an explicit tokenURL the decision has already compared it
// with the record's.
func (r *run) settleTokenURL(ctx context.Context, tok *Token) error {
	if tok.TokenURL == "" || r.creds.Issuer == "" || r.creds.TokenURL != "" {
		return nil
	}
	_, ownFile := r.m.Store.(*storage.FileStore)
	ownFile = ownFile || r.m.Store == nil
	if credentials.CheckTokenURL(tok.TokenURL) == nil && (ownFile || sameOrigin(tok.TokenURL, r.creds.Issuer)) {
		return nil
	}
	ep, err := r.m.resolveEndpoints(ctx)
	if err != nil {
		return err
	}
	if ep.Token != tok.TokenURL {
		r.m.debug("the record's token_url is not the issuer's token endpoint; using the discovered one", "url", redact.URL(ep.Token))
		tok.TokenURL = ep.Token
	}
	return nil
}

// sameOrigin tells whether a and b have the same scheme, host and port.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && strings.EqualFold(ua.Host, ub.Host)
}

// sendRefresh sends a refresh request: where req says, then once to a moved
// endpoint (resendMoved). It returns the answer and the endpoint that gave it;
// a lease that would not outlast the request is a *leaseError, and nothing is
// sent.
func (r *run) sendRefresh(ctx context.Context, req Request, tok *Token) (*Token, string, error) {
	tokenURL := cmp.Or(tok.TokenURL, r.creds.TokenURL)
	if err := r.leaseCovers(); err != nil {
		return nil, tokenURL, &leaseError{err}
	}
	r.m.debug("refresh grant", "url", redact.URL(req.URL))
	nt, err := r.m.exchange(spendContext(ctx), req)
	if err != nil && req.URL == tokenURL { // not sent to where the user lives
		nt, tokenURL, err = r.resendMoved(ctx, tokenURL, err, func(u string) (*Token, error) {
			moved := req
			moved.URL = u
			return r.m.exchange(spendContext(ctx), moved)
		})
	}
	return nt, tokenURL, err
}

// leaseError is a lease that would not outlast a request: the request was not
// sent, and the run ends with err as it is.
type leaseError struct{ err error }

func (e *leaseError) Error() string { return e.err.Error() }

// refreshScope is the scope a refresh request asks for: none, so that the
// grant is renewed as it was given (RFC 6749 §6), unless the provider needs one
// (credentials.Preset.ScopeOnRefresh): then the scope the grant was given, else
// the configured one.
func (m *Manager) refreshScope(tok *Token) string {
	c := m.creds()
	if !credentials.PresetFor(c).ScopeOnRefresh {
		return ""
	}
	return cmp.Or(tok.Scope, c.Scope)
}

// refreshTokenDead is refreshTokenDead (advice.go) for this endpoint.
func (m *Manager) refreshTokenDead(ee *EndpointError) bool {
	return refreshTokenDead(ee, refusalProvider(ee, m.creds()))
}

// resendMoved is a failed request to the token endpoint u seen again
// (rediscover): when the issuer's document names another endpoint and the
// failure proves the request was not processed, send sends it there once;
// when it may have been processed, a warning says where the document points
// now. It returns the result the request ends with and the endpoint that gave
// it (the new one only after a success there, which this process then keeps).
func (r *run) resendMoved(ctx context.Context, u string, err error, send func(u string) (*Token, error)) (*Token, string, error) {
	ep, resend := r.m.rediscover(ctx, u, err)
	switch {
	case ep == nil:
		return nil, u, err
	case !resend:
		r.warns = append(r.warns, movedWarning(u, ep))
		return nil, u, err
	}
	// The first request and the discovery took time: the lease must still
	// outlast this one (leaseCovers), as it had to outlast the first.
	if lerr := r.leaseCovers(); lerr != nil {
		return nil, u, lerr
	}
	r.m.debug("the discovery document names another token endpoint; sending the request there", "url", redact.URL(ep.Token))
	nt, err := send(ep.Token)
	if err != nil {
		return nil, u, err
	}
	r.m.endpoints.Store(ep)
	return nt, ep.Token, nil
}

// spendContext is the context for an exchange that spends a refresh token. Once
// sent, the token may be dead at the endpoint and the answer the only copy of its
// successor, so a cancellation (Ctrl-C, systemd stopping the unit) must not throw
// the answer away: the exchange runs to its end, still bounded by the client's
// Timeout. The CLI lets a second signal kill the process outright.
func spendContext(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

// keepOrFail ends a failed renewal: if it failed for now and the stored access
// token is still valid, warn and hand it out; otherwise report.
func (r *run) keepOrFail(tok *Token, err error) (*Result, error) {
	var te *TransientError
	if errors.As(err, &te) && r.m.stillValid(tok) {
		r.warns = append(r.warns, fmt.Sprintf("could not renew (%v); the current access token is valid until %s", err, tok.Expiry.Format(time.RFC3339)))
		return r.m.result(tok, ActionKept, r.warns), nil
	}
	return &Result{Warnings: r.warns}, r.refused(tok, tok, err)
}

// refused classifies a failed exchange; a refusal that only a person can answer
// (a wrong client, a refused grant) is remembered in the record, so that the
// next runs do not ask again with the same credentials.
func (r *run) refused(old, carry *Token, err error) error {
	ferr := r.m.classify(err)
	var ee *EndpointError
	if k := KindOf(ferr); errors.As(err, &ee) && (k == KindNeedsHuman || k == KindCredentials) {
		r.rememberRefusal(old, carry, ee)
	}
	return ferr
}

// bootstrap gets a new grant with credentials.json. old is the stored token still
// in force (for the spent-seed check, and to hand out if this fails for now);
// carry is the file's token whose unknown fields are kept.
func (r *run) bootstrap(ctx context.Context, old, carry *Token) (*Result, error) {
	c := r.creds
	tokenURL := c.TokenURL
	if tokenURL == "" { // an issuer: the token endpoint is discovered
		ep, err := r.m.resolveEndpoints(ctx)
		if err != nil {
			return &Result{Warnings: r.warns}, err
		}
		tokenURL = ep.Token
	}
	form := url.Values{"grant_type": {c.GrantType}}
	var seed string
	switch c.GrantType {
	case credentials.GrantPassword:
		form.Set("username", c.CompanyUUID)
		form.Set("password", c.CompanyRequestToken)
		if c.CredentialType != "" {
			form.Set("credtype", c.CredentialType)
		}
	case credentials.GrantRefreshToken:
		seed = fingerprint(c.RefreshToken) // Decide saw it is not spent
		form.Set("refresh_token", c.RefreshToken)
	}
	if c.Scope != "" {
		form.Set("scope", c.Scope)
	}
	r.m.debug("bootstrap", "grant", c.GrantType, "url", redact.URL(tokenURL))
	if seed != "" {
		ctx = spendContext(ctx) // the seed refresh token may rotate too
	}
	if err := r.leaseCovers(); err != nil {
		return &Result{Warnings: r.warns}, err
	}
	nt, err := r.sendBootstrap(ctx, tokenURL, form)
	if err != nil && c.TokenURL == "" {
		nt, tokenURL, err = r.resendMoved(ctx, tokenURL, err, func(u string) (*Token, error) { return r.sendBootstrap(ctx, u, form) })
	}
	if err != nil {
		var te *TransientError
		if errors.As(err, &te) && r.m.stillValid(old) {
			return r.keepOrFail(old, err)
		}
		return &Result{Warnings: r.warns}, r.refused(old, carry, err)
	}
	nt.carryUnknown(carry)
	nt.TokenURL = tokenURL
	nt.SeedFingerprint = seed
	if c.GrantType == credentials.GrantPassword {
		nt.CompanyUUID = c.CompanyUUID
	}
	return r.saveAnswer(nt, nt.AccessToken, ActionBootstrapped)
}

// sendBootstrap sends the bootstrap grant. With authStyle auto it tries the tutorial's way
// (credentials in the form) and then HTTP Basic, and records what worked. It never
// probes with a refresh token: that may be single-use.
func (r *run) sendBootstrap(ctx context.Context, tokenURL string, form url.Values) (*Token, error) {
	style := r.creds.SecretStyle()
	if style != credentials.AuthAuto || r.creds.GrantType == credentials.GrantRefreshToken || r.auth != nil {
		return r.m.exchange(ctx, r.request(tokenURL, form, concreteStyle(style)))
	}
	tok, err := r.m.exchange(ctx, r.request(tokenURL, form, credentials.AuthParams))
	if isClientRefusal(err) {
		r.m.debug("client refused with credentials in the form; trying HTTP Basic")
		tok, err = r.m.exchange(ctx, r.request(tokenURL, form, credentials.AuthHeader))
		if err == nil {
			tok.AuthStyle = credentials.AuthHeader
		}
	} else if err == nil {
		tok.AuthStyle = credentials.AuthParams
	}
	return tok, err
}

// exchange is Client.Exchange plus a refusal saying the user lives elsewhere
// (read as credentials.Moved by its provider), named in the answer; ask there once.
func (m *Manager) exchange(ctx context.Context, req Request) (*Token, error) {
	if err := m.Outage.check(req.URL, time.Now()); err != nil {
		m.debug("the token endpoint did not answer moments ago; not sent", "url", redact.URL(req.URL))
		return nil, err
	}
	tok, err := m.client.Exchange(ctx, req)
	m.Outage.note(req.URL, time.Now(), err)
	var ee *EndpointError
	if errors.As(err, &ee) && credentials.MovedBy(refusalOf(ee)) {
		geo, gerr := m.geoTokenURL(req.URL, ee.Geolocation)
		if gerr != nil || geo == req.URL {
			return nil, err
		}
		m.debug("the answer names where the user lives: retrying there", "url", redact.URL(geo))
		req.URL = geo
		tok, err = m.client.Exchange(ctx, req)
		if err == nil && tok.Geolocation == "" {
			// Kept in the file too: later refreshes must go to the same place.
			tok.Geolocation = ee.Geolocation
			tok.raw["geolocation"], _ = json.Marshal(ee.Geolocation)
		}
	}
	return tok, err
}

func (r *run) request(u string, form url.Values, style string) Request {
	return Request{URL: u, Form: form, ClientID: r.creds.AppID, ClientSecret: r.creds.ClientSecret, AuthStyle: style, Auth: r.auth}
}

// loadClientAuth reads the client's key, when it authenticates with one,
// for a run that is about to send a request: afresh each run, so that a key
// replaced on disk is used by the next renewal (watch), and before anything
// is sent, so that a key that cannot be used is the credentials' problem
// (78), never a request refused.
func (r *run) loadClientAuth() error {
	a, err := NewClientAuth(r.creds, r.m.client.Clock)
	r.auth = a
	return err
}

// refreshURL is where a refresh goes: the token's geolocation when it has one
// that may be followed (geolocation.go; refresh requests go to the user's data
// centre), else the endpoint that issued it.
func (r *run) refreshURL(tok *Token) string {
	issuer := cmp.Or(tok.TokenURL, r.creds.TokenURL)
	if tok.Geolocation != "" {
		u, err := r.m.geoTokenURL(issuer, tok.Geolocation)
		switch {
		case err == nil:
			return u
		case errors.Is(err, credentials.ErrNotRouted):
			r.m.debug("geolocation kept in the token file, not followed: the token URL's provider routes no request")
		default:
			r.warns = append(r.warns, fmt.Sprintf("ignoring geolocation in %s: %v", r.m.Paths.TokenFile, err))
		}
	}
	return issuer
}

func (m *Manager) refreshStyle(tok *Token) string {
	if tok.AuthStyle != "" {
		return tok.AuthStyle
	}
	return concreteStyle(m.creds().SecretStyle())
}

func concreteStyle(s string) string {
	if s == credentials.AuthHeader {
		return s
	}
	return credentials.AuthParams
}

// initClient settles the client: Client, or a default one; either way it reads
// the Manager's clock when it has none, so that times in the file come from the
// injected clock.
func (m *Manager) initClient() {
	c := Client{}
	if m.Client != nil {
		c = *m.Client
	}
	if c.Clock == nil {
		c.Clock = m.Clock
	}
	m.client = &c
}

// creds returns the credentials, given or loaded; nil before they are needed.
func (m *Manager) creds() *credentials.Credentials {
	if m.Creds != nil {
		return m.Creds
	}
	return m.loaded.Load()
}

// ReloadCredentials reads credentials.json again through LoadCredentials (watch
// calls it when the file changes), so the next renewal uses what is on disk now.
// On error the old credentials are dropped too: the file is the truth, and the
// next renewal reports the same problem. Creds set by the caller are kept.
func (m *Manager) ReloadCredentials() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loaded.Store(nil)
	m.tokens.forget()
	if m.Creds != nil || m.LoadCredentials == nil {
		return nil
	}
	return m.loadCreds()
}

// newRun readies a run under m.mu (Ensure, Login, Logout): the client, then
// the credentials.
func (m *Manager) newRun() (*run, error) {
	m.initOnce.Do(m.initClient)
	if err := m.loadCreds(); err != nil {
		return nil, err
	}
	return &run{m: m, creds: m.creds()}, nil
}

func (m *Manager) loadCreds() error {
	if m.creds() != nil {
		return nil
	}
	if m.LoadCredentials == nil {
		return &Error{Kind: KindCredentials, Msg: "refresh: no credentials given to the manager"}
	}
	c, err := m.LoadCredentials()
	if err != nil {
		return err
	}
	m.loaded.Store(c)
	return nil
}

// stillValid reports whether tok can still be handed out, not renewed: the
// decision with no margin, for a renewal that failed for now.
func (m *Manager) stillValid(tok *Token) bool {
	return tok != nil && m.decide(tok, nil, Options{}, m.now(), 0).Step == StepNothing
}

// Load reads the token record without the lock. A missing record is (nil, nil);
// one that is not a regular file of this user (a FIFO, a directory, a dangling
// link) is a *storage.RecordError; one that does not parse a *CorruptRecordError.
// Any other failure to read it has a Detail method too: the store's error.
func (m *Manager) Load() (*Token, error) {
	store := m.store()
	data, err := store.Read(context.Background())
	return m.parse(store, data, err)
}

// Plan is the decision the next run would make, from the record as it is now,
// read without the lock: what a command that does not renew (login refusing a
// grant no person starts) tells a person to do next.
func (m *Manager) Plan() Plan {
	tok, err := m.Load()
	now := m.now()
	return m.decide(tok, err, Options{}, now, m.margin())
}

// reload reads the token record again under the lock, through the lock: a shared
// store's later Save replaces exactly what this read.
func (r *run) reload() (*Token, error) {
	data, err := r.lock.Read(context.Background())
	return r.m.parse(r.m.store(), data, err)
}

func (m *Manager) parse(store storage.Store, data []byte, err error) (*Token, error) {
	var re *storage.RecordError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.As(err, &re):
		return nil, err
	case err != nil:
		return nil, &recordReadError{err} // the store's errors name the record
	}
	tok, err := ParseFile(data)
	if err != nil {
		return nil, &CorruptRecordError{Path: store.Name(), Err: err, data: data}
	}
	m.noteSecrets(tok)
	return tok, nil
}

// recordName is the record's name in messages: a shared store's Name, else the
// token file's path as configured (resolving a link would cost system calls on
// the way to a valid token; the file store's Name resolves it when it reads).
func (m *Manager) recordName() string {
	if m.Store != nil {
		return m.Store.Name()
	}
	return m.Paths.TokenFile
}

// store is Store, or the file store of Paths.
func (m *Manager) store() storage.Store {
	if m.Store != nil {
		return m.Store
	}
	return storage.OpenFileStore(m.Paths, m.Log)
}

func (m *Manager) noteSecrets(tok *Token) {
	if m.Secrets != nil && tok != nil {
		m.Secrets(tok.AccessToken, tok.RefreshToken)
	}
}

// CorruptRecordError is a token record that does not parse as one: it is set
// aside as corrupt, never overwritten (a person may want to look at it).
type CorruptRecordError struct {
	Path string
	Err  error
	data []byte // what was read, for the spent-seed check when it is set aside
}

func (e *CorruptRecordError) Error() string { return "refresh: " + e.Detail() }
func (e *CorruptRecordError) Unwrap() error { return e.Err }

// Detail is Error without the package's name: the record, then what is wrong
// with it (see credentials.InvalidError's Detail).
func (e *CorruptRecordError) Detail() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }

// recordReadError is a record the store could not read; Detail is the
// store's own error, which names the record.
type recordReadError struct{ err error }

func (e *recordReadError) Error() string  { return "refresh: " + e.Detail() }
func (e *recordReadError) Unwrap() error  { return e.err }
func (e *recordReadError) Detail() string { return e.err.Error() }

// setAside moves an unparseable token file out of the way (it is never overwritten:
// a human may want to look at it), says so in the run's warnings, and the run
// carries on without a token. A record that is
// not a regular file of this user is not moved: the user must look at it.
func (r *run) setAside(err error) error {
	var fe *CorruptRecordError
	if !errors.As(err, &fe) {
		return unreadableRecord(err, r.m.Paths.TokenFile)
	}
	moved, merr := r.lock.SetAside(context.Background(), r.m.now())
	if merr != nil {
		return &Error{Kind: KindUnexpected, Err: merr, Msg: fmt.Sprintf("%v; and moving it aside failed: %v", err, merr),
			Hint: fmt.Sprintf("move %s away by hand", fe.Path), Next: NextRunAgain}
	}
	if c := r.creds; c != nil && c.GrantType == credentials.GrantRefreshToken && seedInRecord(fe.data, c.RefreshToken) {
		return r.keepSpentSeed(fe, moved)
	}
	r.warns = append(r.warns, fmt.Sprintf("%s is not a valid token file (%v); moved it to %s and getting a new grant", fe.Path, fe.Err, moved))
	return nil
}

// seedInRecord reports whether a token record that could not be parsed shows that
// the seed refresh token of credentials.json was already sent: it names the seed's
// fingerprint (the grant it started) or holds the seed itself.
func seedInRecord(data []byte, seed string) bool {
	if seed == "" {
		return false
	}
	if bytes.Contains(data, []byte(fingerprint(seed))) {
		return true
	}
	quoted, _ := json.Marshal(seed)
	return len(seed) >= 8 && (bytes.Contains(data, []byte(seed)) || bytes.Contains(data, quoted[1:len(quoted)-1]))
}

// keepSpentSeed ends a run whose unreadable token file, now set aside, holds the
// grant the seed refresh token started: the live refresh token went with it, and
// sending the spent seed again would be refused at best, and at worst make the
// provider revoke the live one (reuse detection). A record of the spent seed takes
// the file's place, so later runs refuse it too until credentials.json changes.
func (r *run) keepSpentSeed(fe *CorruptRecordError, moved string) error {
	c := r.creds
	msg := fmt.Sprintf("%s could not be read (%v) and was moved to %s; it holds the grant that the refreshToken in %s started, so that refreshToken was already used and is not sent again",
		fe.Path, fe.Err, moved, c.Path)
	if err := saveRecord(context.Background(), r.lock, &Token{SeedFingerprint: fingerprint(c.RefreshToken)}); err != nil {
		msg += fmt.Sprintf("; recording that failed too (%v)", err)
	}
	return &Error{Kind: KindNeedsHuman, Msg: msg,
		Hint: fmt.Sprintf("the live refresh token is in %s: repair that file and move it back to %s, or put a new refresh token from the provider in %s (refreshToken); then run again", moved, fe.Path, c.Path)}
}

// checkSavable proves, before a refresh token is spent, that its successor can be
// written: a refresh token that rotates and whose successor is lost is a lost grant.
func (r *run) checkSavable() error {
	// The store first clears what writers killed mid-save left behind: on a
	// nearly full disk those are the blocks the check needs.
	if err := r.lock.CheckSavable(context.Background(), reserveBytes); err != nil {
		return &Error{Kind: KindTemporary, Err: err,
			Msg:  fmt.Sprintf("cannot save a new token: %v", err),
			Hint: "free some disk space or make the directory writable; the refresh token was not used", Next: NextRunAgain}
	}
	return nil
}

// saveAnswer saves the token a grant produced and says what the run ends in. access
// is the access token of the answer itself ("" when it had none that could be
// used: merge then kept the previous one beside the new refresh token). An answer
// without a usable access token still renews the grant; the run then hands out the
// previous access token while it is valid, and otherwise fails for now (exit 75):
// the saved refresh token renews on the next run.
func (r *run) saveAnswer(nt *Token, access, action string) (*Result, error) {
	for _, d := range nt.dropped {
		r.warns = append(r.warns, "left out of the token endpoint's answer: "+d)
	}
	res, err := r.save(nt, action)
	if err != nil {
		return res, err
	}
	now := r.m.now()
	if access != "" && res.Token.AccessToken == access {
		// Its expiry unknown, it is handed out this once (docs/contract.md §1); known and
		// past already (a lifetime shorter than the request took), it is not.
		if res.Token.Expiry.IsZero() || res.Token.Valid(now, 0) {
			return res, nil
		}
		return &Result{Warnings: res.Warnings}, &Error{Kind: KindTemporary,
			Msg:  fmt.Sprintf("the token endpoint sent an access token that expired before it arrived (at %s); its refresh token was saved in %s", res.Token.Expiry.Format(time.RFC3339), r.m.Paths.TokenFile),
			Hint: "check this host's clock; run again later: the next run renews with the saved refresh token"}
	}
	if res.Token.Valid(now, 0) {
		res.Action = ActionKept
		res.Warnings = append(res.Warnings, fmt.Sprintf("the token endpoint sent no usable access token; saved its refresh token, and the current access token is valid until %s", res.Token.Expiry.Format(time.RFC3339)))
		return res, nil
	}
	return &Result{Warnings: res.Warnings}, &Error{Kind: KindTemporary,
		Msg:  fmt.Sprintf("the token endpoint sent no usable access token; its refresh token was saved in %s", r.m.Paths.TokenFile),
		Hint: "run again later: the next run renews with the saved refresh token; if this goes on, the endpoint's answers are at fault (see the warnings)"}
}

// save writes tok, cut down to what the lifecycle needs when the whole record does
// not fit in the space reserved before the refresh (docs/contract.md §2 step 6). The result
// holds the token as saved.
func (r *run) save(tok *Token, action string) (*Result, error) {
	r.m.noteSecrets(tok)
	data, tok, dropped, err := tok.record(reserveBytes)
	if dropped != nil {
		r.warns = append(r.warns, fmt.Sprintf("the token endpoint's answer does not fit in the %d KiB reserved for it; saved %s without %s",
			reserveBytes>>10, r.m.Paths.TokenFile, strings.Join(dropped, ", ")))
	}
	if err == nil {
		err = r.lock.Save(context.Background(), data)
	}
	if err != nil {
		kind, hint := KindTemporary, "fix the problem; if the next run asks for a new grant, the old refresh token was spent"
		// A store that refuses the save for a reason no retry fixes (its
		// permissions, its TLS) says what a person must change (78).
		var ce *storage.ConfigError
		if errors.As(err, &ce) {
			kind, hint = KindCredentials, cmp.Or(ce.Hint, hint)
		}
		return &Result{Warnings: r.warns}, &Error{Kind: kind, Err: err,
			Msg:  fmt.Sprintf("got a new token but could not save it: %v", err),
			Hint: hint, Next: NextRunAgain}
	}
	r.m.debug("saved", "path", r.m.Paths.TokenFile, "action", action)
	return r.m.result(tok, action, r.warns), nil
}

// kept is the outcome of a plan that keeps the stored token, with what the
// plan warns of: a refusal remembered while the access token still serves is
// said on every run, not only by status, since a person must act before it
// expires.
func (m *Manager) kept(p Plan) *Result {
	r := m.result(p.Token, ActionValid, p.Warnings)
	if r.Retry = p.Retry && len(p.Warnings) > 0; r.Retry {
		r.Next = p.RetryNext
	}
	return r
}

// result is a run's outcome. The refresh token's expiry is warned about once per
// renewal (not on every run that finds a valid token: cron would mail it every
// half hour), about the token just saved.
func (m *Manager) result(tok *Token, action string, warns []string) *Result {
	var then NextStep
	if action == ActionRefreshed || action == ActionBootstrapped {
		dying := RefreshWarnings(m.creds(), tok, m.now(), m.warnBefore())
		warns, then = append(warns, dying...), refreshNext(m.creds(), dying)
	}
	m.tokens.offer(tok, m.margin())
	return &Result{Token: tok, Action: action, Warnings: warns, Next: then}
}

func (m *Manager) now() time.Time {
	if m.Clock == nil {
		return time.Now()
	}
	return m.Clock.Now()
}

func (m *Manager) margin() time.Duration      { return orDefault(m.Margin, DefaultMargin) }
func (m *Manager) lockTimeout() time.Duration { return orDefault(m.LockTimeout, DefaultLockTimeout) }
func (m *Manager) warnBefore() time.Duration  { return orDefault(m.WarnBefore, DefaultWarnBefore) }

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (m *Manager) holder() string {
	return HolderText(cmp.Or(m.Holder, filepath.Base(os.Args[0])))
}

func (m *Manager) debugging() bool {
	return m.Log != nil && m.Log.Enabled(context.Background(), slog.LevelDebug)
}

func (m *Manager) debug(msg string, args ...any) {
	if m.Log != nil {
		m.Log.Debug(msg, args...)
	}
}

// fingerprint identifies a secret without revealing it.
func fingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:8])
}

// Until says how far t is from now, for people: "in 42m", "3d4h ago",
// rounded to the nearest unit shown (1m59s is "in 2m", not "in 1m").
func Until(now, t time.Time) string {
	d := t.Sub(now)
	s := roughDuration(d.Abs())
	if d < 0 {
		return s + " ago"
	}
	return "in " + s
}

// roughDuration writes d (not negative) in its largest units: seconds under
// a minute, minutes under an hour, hours and minutes under two days, then
// days and hours. d is rounded once, to the smallest unit of the form its
// rounded value takes (59.5s is "1m", 1h59m30s "2h0m", 47h59m30s "2d0h"), so
// a value is never rounded twice (1m29.5s is "1m").
func roughDuration(d time.Duration) string {
	if r := d.Round(time.Second); r < time.Minute {
		d = r
	} else if r := d.Round(time.Minute); r < 48*time.Hour {
		d = r
	} else {
		d = d.Round(time.Hour)
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%dm", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
