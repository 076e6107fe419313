package refresh

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// DefaultLoginWait bounds how long a person has to log in in the browser.
const DefaultLoginWait = 5 * time.Minute

// DefaultRedirectURL is where the browser is sent back when credentials.json
// names no redirectURL: the loopback address, a free port (RFC 8252 §7.3).
const DefaultRedirectURL = "http://127.0.0.1:0/callback"

// LoginConfig is what an interactive grant needs.
type LoginConfig struct {
	Endpoints    Endpoints
	ClientID     string
	ClientSecret string      // "" for a public client
	AuthStyle    string      // "params" or "header"
	Auth         *ClientAuth // a key instead of ClientSecret; nil: none
	Scope        string
	AuthParams   map[string]string // extra authorization-request parameters
	RedirectURL  string            // "": DefaultRedirectURL

	// Open is given the authorization URL after Notify has shown it; nil
	// only shows it. An error is reported and the login waits on: the person
	// can open the printed URL by hand.
	Open func(authURL string) error
	// Notify shows a line to the person (the CLI's stderr).
	Notify func(msg string)
	// Wait bounds the whole login; 0: DefaultLoginWait (authorization code) or
	// the device code's own lifetime, at most an hour (device grant).
	Wait time.Duration
	// BeforeExchange, when set, runs once the person has approved and before
	// the grant is redeemed: the Manager takes the profile lock and checks that
	// the result can be saved there.
	BeforeExchange func(ctx context.Context) error
}

func (cfg *LoginConfig) notify(format string, args ...any) {
	if cfg.Notify != nil {
		cfg.Notify(fmt.Sprintf(format, args...))
	}
}

func (cfg *LoginConfig) request(u string, form url.Values) Request {
	style := cfg.AuthStyle
	if style != "header" || cfg.ClientSecret == "" {
		style = "params"
	}
	return Request{URL: u, Form: form, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, AuthStyle: style, Auth: cfg.Auth}
}

// LoginError is a login that ended without a grant: refused by the person or
// the provider (Code is the provider's error code, as sent: access_denied,
// expired_token, …), or abandoned (Code is "", Reason says why: timeout,
// interrupted).
type LoginError struct {
	Code        string
	Description string
	Reason      string
	// Refused: the browser came back, and tokenkeeper refused the answer
	// (from another issuer, none where one was promised, no code).
	Refused bool
}

func (e *LoginError) Error() string {
	var b strings.Builder
	b.WriteString("refresh: login ")
	switch {
	case e.Code != "":
		fmt.Fprintf(&b, "refused: the provider answered %s", e.Code)
		if e.Description != "" {
			fmt.Fprintf(&b, ": %s", redact.Line(e.Description, 200))
		}
	default:
		b.WriteString(e.Reason)
	}
	b.WriteString("; nothing was saved")
	return b.String()
}

// Login reasons for a login that got no answer.
const (
	ReasonTimeout     = "timed out"
	ReasonInterrupted = "interrupted"
)

// AuthorizationCode runs the authorization code grant with PKCE (RFC 7636,
// S256) and a new state every time: it listens on the loopback address for
// one callback, shows (and opens, with cfg.Open) the authorization URL, waits
// for the browser to come back, and redeems the code once.
//
// The listener answers only on the redirect's path, only to a request for
// the redirect's own host and port (a page of another site that a rebound
// DNS name points at this host sends its own name: refused, RFC 8252 §8.3),
// only to a request that carries the right state (a request with another
// state is refused and the login waits on; the first such refusal is said,
// the rest are not, as any web page can send them by the thousand), only
// once, and refuses an iss (RFC 9207) other than the issuer's, or none when
// the issuer's document promises one.
func (c *Client) AuthorizationCode(ctx context.Context, cfg LoginConfig) (*Token, error) {
	if cfg.Endpoints.Authorization == "" {
		return nil, errors.New("refresh: no authorization endpoint: set authURL or issuer in credentials.json")
	}
	verifier, state := randomString(), randomString()
	cb, err := listen(cmp.Or(cfg.RedirectURL, DefaultRedirectURL), state, cfg.Endpoints.Issuer)
	if err != nil {
		return nil, err
	}
	cb.issRequired = cfg.Endpoints.IssInResponse && cfg.Endpoints.Issuer != ""
	defer cb.close()
	cb.notify = cfg.Notify
	// The browser's page says how the login ended, once it has: a code the
	// provider then refuses is no login.
	var tok *Token
	defer func() { cb.finish(tok != nil) }()
	authURL, err := authorizationURL(cfg, cb.redirectURI, state, verifier)
	if err != nil {
		return nil, err
	}
	cfg.notify("to log in, open this URL in a browser:\n%s", authURL)
	if cfg.Open != nil {
		if err := cfg.Open(authURL); err != nil {
			cfg.notify("could not open a browser (%v); open the URL above by hand", err)
		}
	}
	code, err := cb.wait(ctx, orDefault(cfg.Wait, DefaultLoginWait))
	if err != nil {
		return nil, err
	}
	if cfg.BeforeExchange != nil {
		if err := cfg.BeforeExchange(ctx); err != nil {
			return nil, err
		}
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {cb.redirectURI}, "code_verifier": {verifier}}
	req := cfg.request(cfg.Endpoints.Token, form)
	req.Once = true
	// Once approved, the code is redeemed even if the caller is interrupted: the
	// answer is the grant.
	tok, err = c.Exchange(spendContext(ctx), req)
	return tok, err
}

// authorizationURL builds the request to the authorization endpoint. authParams
// add to it but never replace what the grant's safety rests on.
func authorizationURL(cfg LoginConfig, redirectURI, state, verifier string) (string, error) {
	u, err := url.Parse(cfg.Endpoints.Authorization)
	if err != nil {
		return "", fmt.Errorf("refresh: authorization endpoint: %w", err)
	}
	sum := sha256.Sum256([]byte(verifier))
	q := u.Query()
	for k, v := range cfg.AuthParams {
		q.Set(k, v)
	}
	q.Set("response_type", "code")
	q.Set("client_id", cfg.ClientID)
	q.Set("redirect_uri", redirectURI)
	q.Set("state", state)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
	q.Set("code_challenge_method", "S256")
	if cfg.Scope != "" {
		q.Set("scope", cfg.Scope)
	} else {
		q.Del("scope")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// randomString is 256 bits from the system's CSPRNG, base64url: a PKCE verifier
// (43 characters, RFC 7636 §4.1) or a state.
func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// callback is the one-shot loopback listener.
type callback struct {
	redirectURI, host, path, state, issuer string
	srv                                    *http.Server
	notify                                 func(string)

	mu      sync.Mutex
	done    bool
	strayed bool // a request with a wrong state was said
	// issRequired: the issuer's document promises iss in every answer
	// (RFC 9207 §2.4): an answer without it is refused.
	issRequired bool
	result      chan callbackResult
	// outcome is whether the code was redeemed (finish), for the page of the
	// request that brought it.
	outcome chan bool
}

type callbackResult struct {
	code string
	err  error
}

// listen binds the redirect's loopback address (never a wildcard one: nothing
// off this host can reach the listener), port 0 picking a free port.
func listen(redirect, state, issuer string) (*callback, error) {
	u, err := url.Parse(redirect)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("refresh: redirectURL %q: want http://127.0.0.1:PORT/PATH", truncate(redirect, 80))
	}
	host := u.Hostname()
	bind, ok := LoopbackBind(host)
	if !ok {
		return nil, fmt.Errorf("refresh: redirectURL %q: the listener binds only a loopback address (127.0.0.1, ::1, localhost)", truncate(redirect, 80))
	}
	port := u.Port()
	if port == "" {
		port = "0"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(bind, port))
	if err != nil {
		return nil, &ListenError{Addr: net.JoinHostPort(bind, port), Err: err}
	}
	u.Host = net.JoinHostPort(host, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
	cb := &callback{redirectURI: u.String(), host: u.Host, path: cmp.Or(u.Path, "/"), state: state, issuer: issuer,
		result: make(chan callbackResult, 1), outcome: make(chan bool, 1)}
	cb.srv = &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go cb.srv.Serve(ln)
	return cb, nil
}

// ListenError is a loopback listener that could not be started: most often
// another program (another login) listens on the redirectURL's port.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("refresh: listen for the browser on %s: %v", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// LoopbackBind is the address a listener binds for host, the one rule for
// every listener of tokenkeeper (login's callback, serve --listen): a loopback
// IP as given, 127.0.0.1 for localhost (what localhost resolves to is not ours
// to trust); ok is false for any other host, so that nothing off this host can
// reach the listener.
func LoopbackBind(host string) (bind string, ok bool) {
	if strings.EqualFold(host, "localhost") {
		return "127.0.0.1", true
	}
	ip := net.ParseIP(host)
	return host, ip != nil && ip.IsLoopback()
}

func (cb *callback) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cb.srv.Shutdown(ctx)
}

func (cb *callback) wait(ctx context.Context, d time.Duration) (string, error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-cb.result:
		return r.code, r.err
	case <-t.C:
		return "", &LoginError{Reason: ReasonTimeout + fmt.Sprintf(" (no answer from the browser in %s)", d)}
	case <-ctx.Done():
		return "", &LoginError{Reason: ReasonInterrupted}
	}
}

func (cb *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !sameHostPort(r.Host, cb.host) {
		// Not the address the provider sends the browser back to: a name
		// rebound to this host by some other page. Nothing is said: the
		// login this tokenkeeper started is not concerned.
		page(w, http.StatusMisdirectedRequest, "This is not the address tokenkeeper listens on. Nothing was done.")
		return
	}
	if r.URL.Path != cb.path || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(cb.state)) != 1 {
		cb.mu.Lock()
		said := cb.strayed
		cb.strayed = true
		cb.mu.Unlock()
		if !said {
			cb.say("refused a browser callback with a wrong state (not the login this tokenkeeper started); any more are refused without a word")
		}
		page(w, http.StatusBadRequest, "This is not the login tokenkeeper started (wrong state). Nothing was done.")
		return
	}
	cb.mu.Lock()
	done := cb.done
	cb.done = true
	cb.mu.Unlock()
	if done {
		page(w, http.StatusBadRequest, "This login is already complete; the link cannot be used again.")
		return
	}
	var res callbackResult
	switch iss := q.Get("iss"); {
	case iss == "" && cb.issRequired:
		res.err = &LoginError{Refused: true, Reason: fmt.Sprintf("refused: the answer carries no iss, which issuer %q says it always sends (RFC 9207)", cb.issuer)}
	case iss != "" && cb.issuer != "" && strings.TrimRight(iss, "/") != strings.TrimRight(cb.issuer, "/"):
		res.err = &LoginError{Refused: true, Reason: fmt.Sprintf("refused: the answer came from issuer %q, not %q (RFC 9207)", redact.Line(iss, 200), cb.issuer)}
	case q.Get("error") != "":
		res.err = &LoginError{Code: redact.Line(q.Get("error"), 64), Description: redact.Line(q.Get("error_description"), 300)}
	case q.Get("code") == "":
		res.err = &LoginError{Refused: true, Reason: "failed: the browser came back with no code"}
	default:
		res.code = q.Get("code")
	}
	cb.result <- res
	ok := false
	if res.err == nil {
		// Waited for, not guessed: the code is redeemed after this request
		// (under the profile lock, which may take a while); past the wait the
		// page sends the person to the terminal.
		select {
		case ok = <-cb.outcome:
		case <-time.After(callbackPageWait):
			page(w, http.StatusOK, "The login came back to tokenkeeper. Return to the terminal to see whether it succeeded.")
			return
		case <-r.Context().Done():
			return
		}
	}
	if ok {
		page(w, http.StatusOK, "You are logged in. You can close this window and return to the terminal.")
	} else {
		page(w, http.StatusOK, "Login failed. Return to the terminal to see why.")
	}
}

// callbackPageWait bounds how long the browser's page waits for the code to
// be redeemed before it says only that the answer came back.
const callbackPageWait = 30 * time.Second

// finish gives the page of the request that brought the code the outcome:
// whether it was redeemed.
func (cb *callback) finish(ok bool) {
	select {
	case cb.outcome <- ok:
	default:
	}
}

func (cb *callback) say(msg string) {
	if cb.notify != nil {
		cb.notify(msg)
	}
}

func page(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>tokenkeeper</title><p>%s</p>\n", msg)
}

// sameHostPort reports whether a request's Host names the listener's
// host:port; a browser leaves out port 80, http's own.
func sameHostPort(host, listener string) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		h, p = strings.Trim(host, "[]"), "80"
	}
	lh, lp, _ := net.SplitHostPort(listener)
	return strings.EqualFold(h, lh) && p == lp
}
