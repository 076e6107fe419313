package credentials

import (
	"errors"
	"net/url"
	"strings"
)

// Provider is what one provider does differently from RFC 6749 and OpenID
// Connect: its own refusal codes and what to do about each, where its requests
// go, the words of its advice, and the wizard's questions for it. A preset
// without one (Preset.Provider nil) is the default, Standard, which reads every
// answer by RFC 6749's tables alone. What a provider is by data (its grants,
// token URL rules, regions, scope on refresh, the assertion's audience) stays
// in its row of Presets; adding a provider is a row there and, when it
// behaves differently, one file with its Provider (docs/DESIGN.md, "Providers").
//
// A Provider speaks this package's own small types, so that refresh (which
// sends the requests and makes the errors) and the CLI (which asks the
// questions) both use it without either importing the other.
type Provider interface {
	// Read reads a refusal in the provider's own words; ok false leaves it to
	// RFC 6749's tables (refresh/advice.go).
	Read(r Refusal) (rd Reading, ok bool)
	// Claims reports whether a refusal is in the provider's words even from
	// an endpoint not recognised as its own (a test endpoint on loopback).
	Claims(r Refusal) bool
	// GrantAdvice is what to do when the grant is refused, in the provider's
	// words ({file} is the credentials file); "" for RFC 6749's words.
	GrantAdvice(grant string) string
	// ReauthAdvice is what a person does before the refresh token dies, in the
	// provider's words; "" for the default words.
	ReauthAdvice(c *Credentials) string
	// Route is the token URL a request for tokenURL goes to when the
	// provider's answer named where the user lives: ErrNotRouted when tokenURL
	// is not the provider's to route. trust, when set, replaces the provider's
	// host rule (tests only: loopback fakes standing for its hosts).
	Route(tokenURL, where string, trust func(*url.URL) bool) (string, error)
	// MovedAdvice is the advice for a refusal read as Moved: to is the token
	// URL the answer named, "" when it named none that Route accepts.
	MovedAdvice(file, to string) string
	// Questions are the wizard's questions for the provider's own fields,
	// after its token URL (nil: the questions of the grant).
	Questions() []Question
	// GitUsername is the username the provider's git hosting expects beside
	// an access token (git-credential, when credentials.json names none).
	GitUsername(c *Credentials) string
}

// Refusal is a token endpoint's refusal as a Provider reads it.
type Refusal struct {
	Status       int
	Code         string // RFC 6749 "error"
	Description  string
	ProviderCode int    // the provider's own numeric "code"; 0 when absent
	Where        string // where the answer says the user lives ("geolocation")
}

// Reading is what a provider's refusal means: its class and what a person does
// ({file} the credentials file, {secret} the client's secret or key).
type Reading struct {
	Class RefusalClass
	Do    string
}

// RefusalClass is what a refusal is about.
type RefusalClass int

const (
	// RefusedGrant: the grant (a refresh token, the password) was refused; the
	// advice is the grant's (GrantAdvice).
	RefusedGrant RefusalClass = iota + 1
	// RefusedPerson: a person must act (a locked account, a new request token).
	RefusedPerson
	// RefusedCredentials: the credentials file or the client's registration is wrong.
	RefusedCredentials
	// RefusedBug: a request of ours was malformed.
	RefusedBug
	// Moved: the user lives elsewhere (Route); else fix the token URL (MovedAdvice).
	Moved
)

// Question is one question of the wizard: a field of Fields and its label.
type Question struct{ Field, Label string }

// ErrNotRouted: the token URL is not the provider's to route, so the place an
// answer names is kept and never used.
var ErrNotRouted = errors.New("the token URL is not the provider's to route")

// Standard is the default provider: RFC 6749 and OpenID Connect, with nothing
// of its own. A Provider embeds it and overrides what differs.
type Standard struct{}

func (Standard) Read(Refusal) (Reading, bool) { return Reading{}, false }
func (Standard) Claims(Refusal) bool          { return false }
func (Standard) GrantAdvice(string) string    { return "" }
func (Standard) ReauthAdvice(*Credentials) string {
	return ""
}
func (Standard) Route(string, string, func(*url.URL) bool) (string, error) {
	return "", ErrNotRouted
}
func (Standard) MovedAdvice(string, string) string { return "" }
func (Standard) Questions() []Question             { return nil }

// GitUsername: the git hosts' conventions, by the token endpoint's host (or a
// parent domain); "oauth2" where any username is taken (GitLab's convention).
func (Standard) GitUsername(c *Credentials) string {
	if u, err := url.Parse(c.TokenURL); err == nil {
		host := u.Hostname()
		for _, g := range []struct{ host, user string }{
			{"github.com", "x-access-token"},
			{"bitbucket.org", "x-token-auth"},
			{"gitlab.com", "oauth2"},
		} {
			if host == g.host || strings.HasSuffix(host, "."+g.host) {
				return g.user
			}
		}
	}
	return "oauth2"
}

// Behaviour is the preset's Provider, Standard when it has none of its own.
func (p *Preset) Behaviour() Provider {
	if p.Provider == nil {
		return Standard{}
	}
	return p.Provider
}

// ProviderOf is the Provider of a token URL's preset (PresetOf).
func ProviderOf(tokenURL string) Provider { return PresetOf(tokenURL).Behaviour() }

// RefusalProvider is the Provider that reads a refusal from tokenURL: its
// preset's, else the first that claims the answer by its words, else Standard.
func RefusalProvider(tokenURL string, r Refusal) Provider {
	if p := PresetOf(tokenURL); p.Provider != nil {
		return p.Provider
	}
	for i := range Presets {
		if p := Presets[i].Provider; p != nil && p.Claims(r) {
			return p
		}
	}
	return Standard{}
}

// Route is where a request for tokenURL goes, given where an answer said the
// user lives: asked of every provider, since only the one whose host tokenURL
// is can route it (ErrNotRouted from all others).
func Route(tokenURL, where string, trust func(*url.URL) bool) (string, error) {
	for i := range Presets {
		if p := Presets[i].Provider; p != nil {
			if u, err := p.Route(tokenURL, where, trust); !errors.Is(err, ErrNotRouted) {
				return u, err
			}
		}
	}
	return "", ErrNotRouted
}

// MovedBy reports whether any provider reads the refusal as Moved: the answer
// names where the user lives.
func MovedBy(r Refusal) bool {
	if r.Where == "" {
		return false
	}
	for i := range Presets {
		if p := Presets[i].Provider; p != nil {
			if rd, ok := p.Read(r); ok && rd.Class == Moved {
				return true
			}
		}
	}
	return false
}
