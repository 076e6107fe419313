package fakeserver

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// concurToken is Concur's success body, fields in the documented order.
type concurToken struct {
	ExpiresIn        any    `json:"expires_in,omitempty"` // a string, as documented
	Scope            string `json:"scope,omitempty"`
	TokenType        string `json:"token_type"`
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token,omitempty"`
	RefreshExpiresIn any    `json:"refresh_expires_in,omitempty"` // absolute Unix time
	IDToken          string `json:"id_token,omitempty"`
	Geolocation      string `json:"geolocation,omitempty"`
}

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

type concurError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Code        int    `json:"code,omitempty"`
	Geolocation string `json:"geolocation,omitempty"`
}

type keycloakError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (s *Server) writeToken(w http.ResponseWriter, r *http.Request, t issued) {
	if s.opts.Style != StyleConcur {
		writeJSON(w, http.StatusOK, s.keycloakBody(t))
		return
	}
	w.Header().Set("Concur-Correlationid", randomID("corr", 0))
	writeJSON(w, http.StatusOK, s.concurBody(r, t))
}

func (s *Server) concurBody(r *http.Request, t issued) concurToken {
	b := concurToken{
		Scope: t.scope, TokenType: "Bearer", AccessToken: t.access,
		RefreshToken: t.refresh, IDToken: t.id, Geolocation: s.geo(r),
	}
	if !s.opts.OmitExpiresIn {
		b.ExpiresIn = strconv.FormatInt(seconds(s.opts.AccessTTL), 10)
	}
	if t.hasRefresh && !t.refreshExp.IsZero() {
		b.RefreshExpiresIn = t.refreshExp.Unix()
	}
	return b
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
	if s.opts.Style != StyleConcur {
		writeJSON(w, status, keycloakError{e.Error, e.Description})
		return
	}
	w.Header().Set("Concur-Correlationid", randomID("corr", 0))
	writeJSON(w, status, concurError{e.Error, e.Description, e.Code, s.geo(r)})
}

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
