package fakeserver

import (
	"crypto/subtle"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxForm bounds a token request body; real forms are a few hundred bytes.
const maxForm = 64 << 10

// ServeHTTP serves the token endpoint and the protected resource.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case TokenPath, ShortTokenPath, EntraTokenPath:
		s.serveToken(w, r)
	case APIPath:
		s.serveAPI(w, r)
	case AuthorizePath:
		s.serveAuthorize(w, r)
	case DiscoveryPath:
		s.serveDiscovery(w, r)
	case DeviceAuthPath:
		s.serveDeviceAuth(w, r)
	case DeviceVerifyPath:
		s.serveDeviceVerify(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	form, problem := readForm(r)
	f, ok := s.record(r, form)
	if ok && s.applyFault(w, r, f) {
		return
	}
	if f.Fields != nil {
		w = &patchWriter{ResponseWriter: w, fields: f.Fields}
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeError(w, r, http.StatusMethodNotAllowed, apiError{"invalid_request", "the token endpoint only accepts POST", 0})
		return
	}
	if problem != "" {
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_request", problem, 0})
		return
	}
	if e, ok := s.clientAuth(r, form); !ok {
		if r.Header.Get("Authorization") != "" {
			// RFC 6749 §5.2: a 401 after Basic auth names the scheme.
			w.Header().Set("WWW-Authenticate", `Basic realm="fakeserver"`)
		}
		s.writeError(w, r, http.StatusUnauthorized, e)
		return
	}
	if s.failFor(w, r, form.Get("grant_type")) {
		return
	}
	switch form.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:device_code":
		s.deviceCodeGrant(w, r, form)
	case "password":
		s.passwordGrant(w, r, form)
	case "client_credentials":
		s.clientCredentialsGrant(w, r, form)
	case "refresh_token":
		s.refreshGrant(w, r, form)
	case "authorization_code":
		s.authorizationCodeGrant(w, r, form)
	default:
		s.writeError(w, r, http.StatusBadRequest, apiError{"unsupported_grant_type", "grant_type is missing or not supported", 0})
	}
}

// readForm reads a form-encoded body. It returns the form (nil if none
// could be read) and, when the request is not a well-formed token request
// body, what is wrong with it.
func readForm(r *http.Request) (url.Values, string) {
	if r.Method != http.MethodPost {
		return nil, "the token endpoint only accepts POST"
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, "Content-Type must be application/x-www-form-urlencoded"
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxForm+1))
	if err != nil {
		return nil, "cannot read the request body"
	}
	if len(body) > maxForm {
		return nil, "request body too large"
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return form, "malformed form body"
	}
	for k, vs := range form {
		if len(vs) > 1 {
			// RFC 6749 §3.2: parameters must not be repeated.
			return form, "parameter " + k + " is repeated"
		}
	}
	return form, ""
}

// clientAuth checks the client credentials where Options.AuthStyle allows
// them. Credentials present in both places must both be right.
func (s *Server) clientAuth(r *http.Request, form url.Values) (apiError, bool) {
	if s.opts.ClientKey != nil || s.opts.ClientCert != nil {
		return s.keyClientAuth(r, form)
	}
	bad := func(desc string) (apiError, bool) {
		return apiError{"invalid_client", desc, 59}, false
	}
	id, secret, basic := r.BasicAuth()
	inForm := form.Has("client_secret")
	switch {
	case s.opts.AuthStyle == AuthHeader && inForm:
		return bad("client credentials must be sent with HTTP Basic authentication")
	case s.opts.AuthStyle == AuthParams && basic:
		return bad("client credentials must be sent in the request body")
	case !basic && !inForm:
		return bad("client authentication is missing")
	}
	if basic {
		// RFC 6749 §2.3.1: form-encoded before base64; x/oauth2 does so.
		id, secret = unescape(id), unescape(secret)
		if !s.isClient(id, secret) {
			return bad("invalid client credentials")
		}
	}
	if inForm && !s.isClient(form.Get("client_id"), form.Get("client_secret")) {
		return bad("invalid client credentials")
	}
	return apiError{}, true
}

func (s *Server) isClient(id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.opts.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret))
	return idOK&secretOK == 1
}

func unescape(v string) string {
	if u, err := url.QueryUnescape(v); err == nil {
		return u
	}
	return v
}

// serveAPI is a protected resource that accepts this server's bearer tokens.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.apiCount++
	s.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !s.ValidAccessToken(tok) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fakeserver", error="invalid_token"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"invalid_token"}`+"\n")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"ok":true}`+"\n")
}
