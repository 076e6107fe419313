package fakeserver

import (
	"net/http"
	"net/url"
	"strconv"
)

// What the fake says as SAP Concur does, the tutorial's provider and the
// default style: its bodies (expires_in as a string, refresh_expires_in as a
// Unix time, geolocation), its correlation header, its scope and its refusal
// of a credtype it does not take.

// StyleConcur is Concur's style, the default one (DefaultStyle).
const (
	StyleConcur  = "concur"
	DefaultStyle = StyleConcur
)

// concurScope is the default scope, as Concur's samples show it.
const concurScope = "app-help user-read travel-read expense.report.read"

// knownStyle tells whether style is one the fake speaks.
func knownStyle(style string) bool {
	return style == StyleConcur || style == StyleKeycloak || style == StyleDex
}

// words is the style's wording (respond.go).
func (s *Server) words() words {
	if s.opts.Style == StyleConcur {
		return concurWords{}
	}
	return keycloakWords{}
}

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

type concurError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
	Code        int    `json:"code,omitempty"`
	Geolocation string `json:"geolocation,omitempty"`
}

type concurWords struct{}

func (concurWords) token(s *Server, r *http.Request, t issued) any {
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

func (concurWords) refusal(s *Server, r *http.Request, e apiError) any {
	return concurError{e.Error, e.Description, e.Code, s.geo(r)}
}

func (concurWords) headers(w http.ResponseWriter) {
	w.Header().Set("Concur-Correlationid", randomID("corr", 0))
}

func (concurWords) scope() string { return concurScope }

func (concurWords) passwordForm(form url.Values) *apiError {
	if form.Has("credtype") && form.Get("credtype") != "authtoken" {
		return &apiError{"invalid_request", "credtype is invalid", 120}
	}
	return nil
}

func (concurWords) wrongPassword() string { return "Incorrect Credentials. Please Retry" }
