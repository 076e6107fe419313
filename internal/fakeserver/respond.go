package fakeserver

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// keycloakToken is Keycloak's success body.
type keycloakToken struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        any    `json:"expires_in,omitempty"` // a number
	RefreshExpiresIn int64  `json:"refresh_expires_in"`   // seconds from now; 0: none
	RefreshToken     string `json:"refresh_token,omitempty"`
	TokenType        string `json:"token_type"`
	IDToken          string `json:"id_token,omitempty"`
	NotBeforePolicy  int    `json:"not-before-policy"`
	SessionState     string `json:"session_state,omitempty"`
	Scope            string `json:"scope,omitempty"`
}

// apiError is an RFC 6749 §5.2 error; Code is Concur's number, sent only
// in Concur style and only when non-zero.
type apiError struct {
	Error       string
	Description string
	Code        int
}

type keycloakError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (s *Server) writeToken(w http.ResponseWriter, r *http.Request, t issued) {
	words := s.words()
	words.headers(w)
	writeJSON(w, http.StatusOK, words.token(s, r, t))
}

func (s *Server) keycloakBody(t issued) keycloakToken {
	b := keycloakToken{
		AccessToken: t.access, RefreshToken: t.refresh, TokenType: "Bearer",
		IDToken: t.id, Scope: t.scope,
	}
	if !s.opts.OmitExpiresIn {
		b.ExpiresIn = seconds(s.opts.AccessTTL)
	}
	if t.hasRefresh {
		b.SessionState = t.session
		if !t.refreshExp.IsZero() {
			// At least 1: 0 would mean "no expiry advertised".
			b.RefreshExpiresIn = max(1, seconds(t.refreshExp.Sub(t.now)))
		}
	}
	return b
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, status int, e apiError) {
	words := s.words()
	words.headers(w)
	writeJSON(w, status, words.refusal(s, r, e))
}

// words is how the server's style words its answers: Concur's (concur.go),
// else Keycloak's (below), which Dex's shares.
type words interface {
	token(s *Server, r *http.Request, t issued) any
	refusal(s *Server, r *http.Request, e apiError) any
	headers(w http.ResponseWriter)
	scope() string
	// passwordForm refuses a password grant's form it would not take; nil
	// when it takes it.
	passwordForm(form url.Values) *apiError
	wrongPassword() string
}

type keycloakWords struct{}

func (keycloakWords) token(s *Server, _ *http.Request, t issued) any { return s.keycloakBody(t) }
func (keycloakWords) refusal(_ *Server, _ *http.Request, e apiError) any {
	return keycloakError{e.Error, e.Description}
}
func (keycloakWords) headers(http.ResponseWriter)       {}
func (keycloakWords) scope() string                     { return keycloakScope }
func (keycloakWords) passwordForm(url.Values) *apiError { return nil }
func (keycloakWords) wrongPassword() string             { return "Invalid user credentials" }

// geo is the geolocation to advertise: set explicitly, else where the
// server says it lives, else where the request reached it.
func (s *Server) geo(r *http.Request) string {
	s.mu.Lock()
	g := s.geolocation
	s.mu.Unlock()
	switch {
	case g != "":
		return g
	case s.opts.BaseURL != "":
		return s.opts.BaseURL
	case r.TLS != nil:
		return "https://" + r.Host
	default:
		return "http://" + r.Host
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic("fakeserver: " + err.Error()) // our own types always marshal
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// RFC 6749 §5.1: token responses must not be cached.
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }
