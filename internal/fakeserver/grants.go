package fakeserver

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// keycloakScope is the default scope of every style but the default one, as
// Keycloak's samples show it.
const keycloakScope = "openid email profile"

// issued is one successful grant, ready to be written in either style.
type issued struct {
	now                   time.Time
	access, refresh, id   string
	accessExp, refreshExp time.Time // refreshExp zero: none advertised
	scope, session        string
	hasRefresh            bool
}

func (s *Server) passwordGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	words := s.words()
	if e := words.passwordForm(form); e != nil {
		s.writeError(w, r, http.StatusBadRequest, *e)
		return
	}
	user, pass := form.Get("username"), form.Get("password")
	if user == "" || pass == "" {
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_request", "username and password are required", 0})
		return
	}
	s.mu.Lock()
	ok := user == s.opts.CompanyUUID && pass == s.requestToken
	var t issued
	if ok {
		t = s.mint(form.Get("scope"), true, refreshRecord{})
	}
	s.mu.Unlock()
	if !ok {
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_grant", words.wrongPassword(), 5})
		return
	}
	s.writeToken(w, r, t)
}

func (s *Server) clientCredentialsGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	s.mu.Lock()
	t := s.mint(form.Get("scope"), false, refreshRecord{})
	s.mu.Unlock()
	s.writeToken(w, r, t)
}

func (s *Server) refreshGrant(w http.ResponseWriter, r *http.Request, form url.Values) {
	rt := form.Get("refresh_token")
	if rt == "" {
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_request", "refresh_token is required", 106})
		return
	}
	s.mu.Lock()
	rec, ok := s.liveRefresh(rt)
	if ok && !scopeWithin(form.Get("scope"), rec.scope) {
		s.mu.Unlock()
		s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_scope", "refresh token missing requested scope", 0})
		return
	}
	var t issued
	if ok {
		if s.opts.Rotate {
			// Single use: the token sent dies, a new one is minted.
			delete(s.refresh, rt)
			t = s.mint(rec.scope, true, refreshRecord{session: rec.session})
		} else {
			t = s.mint(rec.scope, false, rec)
			t.refresh, t.refreshExp, t.hasRefresh = rt, rec.expires, true
			t.id = randomID("id", s.seq)
		}
	}
	s.mu.Unlock()
	if !ok {
		switch s.opts.Style {
		case StyleDex:
			s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_request", "Refresh token is invalid or has already been claimed by another client.", 0})
		case StyleKeycloak:
			s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_grant", "Token is not active", 0})
		default:
			s.writeError(w, r, http.StatusBadRequest, apiError{"invalid_grant", "Refresh token is invalid, expired or revoked", 108})
		}
		return
	}
	s.writeToken(w, r, t)
}

// mint issues an access token and, if withRefresh, a refresh token and an
// id token. prev carries the session of a refreshed grant. s.mu must be held.
func (s *Server) mint(scope string, withRefresh bool, prev refreshRecord) issued {
	s.seq++
	now := s.opts.Now()
	t := issued{now: now, accessExp: now.Add(s.opts.AccessTTL), scope: scope, session: prev.session}
	if s.opts.GrantedScope != "" {
		t.scope = s.opts.GrantedScope
	}
	if t.scope == "" {
		t.scope = s.defaultScope()
	}
	if t.session == "" {
		t.session = randomID("session", s.seq)
	}
	t.access = randomID("at", s.seq)
	if s.opts.JWTAccessTokens {
		t.access = unsignedJWT(t.access, now, t.accessExp)
	}
	s.access[t.access] = t.accessExp
	if withRefresh {
		if s.opts.Style == StyleDex && prev.session == "" {
			// A new grant: Dex keeps one refresh token per user and client.
			clear(s.refresh)
		}
		t.hasRefresh = true
		t.refresh = randomID("rt", s.seq)
		t.id = randomID("id", s.seq)
		if s.opts.RefreshTTL > 0 {
			t.refreshExp = now.Add(s.opts.RefreshTTL)
		}
		s.refresh[t.refresh] = refreshRecord{expires: t.refreshExp, scope: t.scope, session: t.session}
	}
	return t
}

// scopeWithin reports whether every scope asked for is one granted; asking
// for none asks for what was granted.
func scopeWithin(asked, granted string) bool {
	have := strings.Fields(granted)
	for _, sc := range strings.Fields(asked) {
		if !slices.Contains(have, sc) {
			return false
		}
	}
	return true
}

func (s *Server) defaultScope() string { return s.words().scope() }

// randomID is distinguishable by kind and sequence number, and unguessable.
func randomID(kind string, seq int) string {
	return fmt.Sprintf("%s-%d-%s", kind, seq, rand.Text())
}

// unsignedJWT wraps id in a JWT with iat and exp, signed by nobody: clients
// read exp without verifying, as the KORE sample does.
func unsignedJWT(id string, iat, exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(struct {
		JTI string `json:"jti"`
		IAT int64  `json:"iat"`
		EXP int64  `json:"exp"`
	}{id, iat.Unix(), exp.Unix()})
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "." + enc([]byte("fake-signature"))
}
