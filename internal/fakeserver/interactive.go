package fakeserver

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Paths of the discovery document and the device grant (RFC 8628).
const (
	DiscoveryPath    = "/.well-known/openid-configuration"
	DeviceAuthPath   = "/device/code" // device authorization endpoint
	DeviceVerifyPath = "/device"      // the page where a person approves a user code
)

// Fail modes (Server.SetFailMode): how every token request fails until the
// mode is set back to FailNone. Queued faults (Server.Fail) come first.
const (
	FailNone = ""
	// FailRefuse refuses every grant that no person starts: refresh tokens,
	// the password and client credentials grants (invalid_grant), as a
	// provider does after revoking the grant and changing the password.
	FailRefuse = "refuse"
	// FailDeadRefresh refuses refresh tokens only: a new grant still works.
	FailDeadRefresh = "dead-refresh"
	// FailOutage answers every token request 503 with Retry-After.
	FailOutage = "outage"
)

// FailModes are the fail modes a user may name, in the order help shows them.
var FailModes = [...]string{FailRefuse, FailDeadRefresh, FailOutage}

// deviceTTL is how long a user code may be entered; deviceInterval is the
// polling interval advertised, the shortest a client honours.
const (
	deviceTTL      = 10 * time.Minute
	deviceInterval = 1
)

// pendingConsent is an authorization request shown on the consent page and
// not yet answered: the redirect is where the answer goes.
type pendingConsent struct {
	redirect *url.URL
	state    string
	code     pendingCode
}

// deviceGrant is a device authorization not yet redeemed.
type deviceGrant struct {
	userCode string
	scope    string
	expires  time.Time
	decided  string // "" pending, "approve" or "deny"
}

// SetFailMode makes every later token request fail as mode says (FailNone:
// not at all). It panics on an unknown mode.
func (s *Server) SetFailMode(mode string) {
	if mode != FailNone && mode != FailRefuse && mode != FailDeadRefresh && mode != FailOutage {
		panic("fakeserver: unknown fail mode " + mode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failMode = mode
}

// failFor answers a token request of grant as the fail mode says and reports
// whether it did.
func (s *Server) failFor(w http.ResponseWriter, r *http.Request, grant string) bool {
	s.mu.Lock()
	mode := s.failMode
	s.mu.Unlock()
	switch {
	case mode == FailOutage:
		w.Header().Set("Retry-After", "30")
		writeFault(w, Fault{Status: http.StatusServiceUnavailable, Body: "the token endpoint is down (fail mode outage)\n"})
	case mode == FailRefuse && (grant == "password" || grant == "client_credentials"):
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_grant", "The grant was revoked (fail mode refuse).", 5})
	case (mode == FailRefuse || mode == FailDeadRefresh) && grant == "refresh_token":
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_grant", "Refresh token is invalid, expired or revoked (fail mode " + mode + ").", 108})
	default:
		return false
	}
	return true
}

// serveDiscovery is the OpenID Connect discovery document of the issuer
// URL(): the endpoints this server has.
func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	base := s.base(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base,
		"token_endpoint":                        base + TokenPath,
		"authorization_endpoint":                base + AuthorizePath,
		"device_authorization_endpoint":         base + DeviceAuthPath,
		"grant_types_supported":                 []string{"authorization_code", "urn:ietf:params:oauth:grant-type:device_code", "refresh_token", "password", "client_credentials"},
		"response_types_supported":              []string{"code"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      strings.Fields(s.defaultScope() + " offline_access"),
		"token_endpoint_auth_methods_supported": s.authMethods(),
	})
}

// authMethods are the client authentication methods the server takes: the
// one its client is registered for when that is a key.
func (s *Server) authMethods() []string {
	switch {
	case s.opts.ClientCert != nil:
		return []string{"self_signed_tls_client_auth"}
	case s.opts.ClientKey != nil:
		return []string{"private_key_jwt"}
	case s.opts.AuthStyle == AuthParams:
		return []string{"client_secret_post"}
	case s.opts.AuthStyle == AuthHeader:
		return []string{"client_secret_basic"}
	}
	return []string{"client_secret_basic", "client_secret_post"}
}

// base is BaseURL, else where the request reached the server.
func (s *Server) base(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	return "http://" + r.Host
}

// serveConsent answers the authorization endpoint with Options.Consent: a GET
// shows a page with the request and a form (approve / deny); its POST, with
// the unguessable request id the page carries, sends the answer to the
// redirect. A page of another site cannot read the id, so it cannot answer.
func (s *Server) serveConsent(w http.ResponseWriter, r *http.Request, redirect *url.URL) {
	q := r.URL.Query()
	s.mu.Lock()
	s.seq++
	id := randomID("consent", s.seq)
	s.consents[id] = pendingConsent{redirect: redirect, state: q.Get("state"),
		code: pendingCode{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), scope: q.Get("scope")}}
	s.mu.Unlock()
	writePage(w, http.StatusOK, "Log in to the demo", `<p>The application <b>`+escapeHTML(q.Get("client_id"))+`</b> asks for access`+
		` with the scope <code>`+escapeHTML(q.Get("scope"))+`</code>.</p>
<form method="post" action="`+AuthorizePath+`">
<input type="hidden" name="request" value="`+escapeHTML(id)+`">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`)
}

// answerConsent is the POST of the consent form.
func (s *Server) answerConsent(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		writePage(w, http.StatusBadRequest, "Bad request", "<p>The form could not be read.</p>")
		return
	}
	s.mu.Lock()
	pc, ok := s.consents[r.PostForm.Get("request")]
	delete(s.consents, r.PostForm.Get("request"))
	s.mu.Unlock()
	if !ok {
		writePage(w, http.StatusBadRequest, "Unknown request", "<p>This request was answered already, or never made. Start the login again.</p>")
		return
	}
	v := pc.redirect.Query()
	v.Set("state", pc.state)
	if r.PostForm.Get("decision") == "approve" {
		v.Set("code", s.newCode(pc.code))
	} else {
		v.Set("error", "access_denied")
	}
	u := *pc.redirect
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// newCode issues an authorization code for pc.
func (s *Server) newCode(pc pendingCode) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	code := randomID("code", s.seq)
	s.codes[code] = pc
	return code
}

// serveDeviceAuth is the device authorization endpoint (RFC 8628 §3.1-3.2).
func (s *Server) serveDeviceAuth(w http.ResponseWriter, r *http.Request) {
	form, problem := readForm(r)
	if problem != "" {
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_request", problem, 0})
		return
	}
	if e, ok := s.clientAuth(r, form); !ok {
		s.writeError(w, r, http.StatusUnauthorized, e)
		return
	}
	user := newUserCode()
	s.mu.Lock()
	s.seq++
	code := randomID("device", s.seq)
	s.devices[code] = &deviceGrant{userCode: user, scope: form.Get("scope"), expires: s.opts.Now().Add(deviceTTL)}
	s.mu.Unlock()
	verify := s.base(r) + DeviceVerifyPath
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code": code, "user_code": user,
		"verification_uri":          verify,
		"verification_uri_complete": verify + "?user_code=" + url.QueryEscape(user),
		"expires_in":                seconds(deviceTTL), "interval": deviceInterval,
	})
}

// newUserCode is eight letters a person can type, in two groups: no vowels
// (no words), no letters easily confused.
func newUserCode() string {
	const letters = "BCDFGHJKLMNPQRSTVWXZ" // 20: a byte mod 20 is nearly uniform for a demo
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// serveDeviceVerify is the page where a person enters a user code and
// approves or denies it.
func (s *Server) serveDeviceVerify(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			writePage(w, http.StatusBadRequest, "Bad request", "<p>The form could not be read.</p>")
			return
		}
		user := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("user_code")))
		decision := r.PostForm.Get("decision")
		s.mu.Lock()
		var found *deviceGrant
		for _, g := range s.devices {
			if g.userCode == user && g.decided == "" && s.opts.Now().Before(g.expires) {
				found = g
			}
		}
		if found != nil {
			found.decided = "deny"
			if decision == "approve" {
				found.decided = "approve"
			}
		}
		s.mu.Unlock()
		switch {
		case found == nil:
			writePage(w, http.StatusBadRequest, "Unknown code", "<p>No login waits for this code: it was mistyped, answered already, or expired.</p>")
		case found.decided == "approve":
			writePage(w, http.StatusOK, "Approved", "<p>The device is logged in. You may close this page.</p>")
		default:
			writePage(w, http.StatusOK, "Denied", "<p>The login was denied.</p>")
		}
		return
	}
	writePage(w, http.StatusOK, "Log in a device", `<p>Enter the code the device shows.</p>
<form method="post" action="`+DeviceVerifyPath+`">
<input name="user_code" value="`+escapeHTML(r.URL.Query().Get("user_code"))+`" autocomplete="off">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`)
}

// deviceCodeGrant answers a poll of the token endpoint (RFC 8628 §3.5).
func (s *Server) deviceCodeGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	code := form.Get("device_code")
	s.mu.Lock()
	g, ok := s.devices[code]
	var t issued
	var e apiError
	switch {
	case !ok:
		e = apiError{"invalid_grant", "Unknown device code.", 0}
	case !s.opts.Now().Before(g.expires):
		delete(s.devices, code)
		e = apiError{"expired_token", "The device code expired.", 0}
	case g.decided == "":
		e = apiError{"authorization_pending", "The user has not answered yet.", 0}
	case g.decided == "deny":
		delete(s.devices, code)
		e = apiError{"access_denied", "The user denied the request.", 0}
	default:
		delete(s.devices, code)
		t = s.mint(g.scope, true, refreshRecord{})
	}
	s.mu.Unlock()
	if e.Error != "" {
		s.writeError(w, r, http.StatusBadRequest, e)
		return
	}
	s.writeToken(w, r, t)
}

// writePage writes a small HTML page that no other site may frame.
func writePage(w http.ResponseWriter, status int, title, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(status)
	io.WriteString(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>"+escapeHTML(title)+"</title></head>\n<body><h1>"+
		escapeHTML(title)+"</h1>\n"+body+"\n</body></html>\n")
}

// escapeHTML escapes text for an element or a quoted attribute: what
// html.EscapeString gives, except that invalid UTF-8 comes out as U+FFFD.
func escapeHTML(v string) string {
	var b strings.Builder
	for _, c := range v {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}
