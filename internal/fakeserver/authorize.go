package fakeserver

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
)

// pendingCode is an authorization code not yet redeemed: what the token
// request must match.
type pendingCode struct {
	redirect, challenge, scope string
}

// serveAuthorize is the authorization endpoint of a user who is logged in and
// has consented: every request of this client with PKCE (S256) and a
// loopback redirect is approved at once, by a redirect with a code. A
// redirect that is not loopback http is refused with a page, never followed.
// With Options.Consent a valid request gets the consent page instead
// (interactive.go), and the page's form is POSTed here.
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if s.opts.Consent && r.Method == http.MethodPost {
		s.answerConsent(w, r)
		return
	}
	q := r.URL.Query()
	u, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "::1" && u.Hostname() != "localhost") {
		http.Error(w, "redirect_uri must be a loopback http URL", http.StatusBadRequest)
		return
	}
	v := u.Query()
	v.Set("state", q.Get("state"))
	switch {
	case q.Get("client_id") != s.opts.ClientID:
		v.Set("error", "unauthorized_client")
	case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		v.Set("error", "invalid_request")
	case s.opts.Consent:
		s.serveConsent(w, r, u)
		return
	default:
		v.Set("code", s.newCode(pendingCode{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), scope: q.Get("scope")}))
	}
	u.RawQuery = v.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// authorizationCodeGrant redeems a code once, for the redirect it was issued
// to and the PKCE verifier of its challenge (RFC 7636).
func (s *Server) authorizationCodeGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	sum := sha256.Sum256([]byte(form.Get("code_verifier")))
	s.mu.Lock()
	pc, ok := s.codes[form.Get("code")]
	delete(s.codes, form.Get("code"))
	ok = ok && pc.redirect == form.Get("redirect_uri") && base64.RawURLEncoding.EncodeToString(sum[:]) == pc.challenge
	var t issued
	if ok {
		t = s.mint(pc.scope, true, refreshRecord{})
	}
	s.mu.Unlock()
	if !ok {
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_grant", "Invalid or expired code.", 0})
		return
	}
	s.writeToken(w, r, t)
}
