package refresh

import (
	"cmp"
	"net/http"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// The refusal tables: what a token endpoint's refusal means and what a person must
// do about it. A refusal is read by the provider's own words when it has any
// (credentials.Provider: its numeric codes, for its endpoints only), else by
// RFC 6749's error code, else by HTTP status. In the advice, {file} is the
// credentials file, {grant} its grantType, {username} and {password} the words of
// the password grant's fields (credentials.Credentials.Word). The tables are functions, built
// when a refusal is looked up, not at every start-up (docs/contract.md §6).

// advice is one row: the kind of failure and what to do.
type advice struct {
	Kind Kind
	Do   string
}

// kindOf is the Kind of a provider's reading of a refusal.
func kindOf(c credentials.RefusalClass) Kind {
	switch c {
	case credentials.RefusedGrant, credentials.RefusedPerson:
		return KindNeedsHuman
	case credentials.RefusedBug:
		return KindUnexpected
	}
	return KindCredentials
}

// refusalOf is ee as a provider reads it.
func refusalOf(ee *EndpointError) credentials.Refusal {
	return credentials.Refusal{Status: ee.Status, Code: ee.Code, Description: ee.Description,
		ProviderCode: ee.ProviderCode, Where: ee.Geolocation}
}

// readBy is p's own reading of ee, if it has one. p is never nil: a refusal
// no provider reads has Standard's (refusalProvider).
func readBy(p credentials.Provider, ee *EndpointError) (credentials.Reading, bool) {
	return p.Read(refusalOf(ee))
}

// oauthCodes are RFC 6749 §5.2's error codes, for any endpoint. A row without
// advice is a refused grant, whose advice depends on the grant: grantRefused.
func oauthCodes() map[string]advice {
	return map[string]advice{
		"invalid_grant":          {KindNeedsHuman, ""},
		"invalid_client":         {KindCredentials, clientRefused},
		"unauthorized_client":    {KindCredentials, clientRefused},
		"invalid_scope":          {KindCredentials, "check scope in {file}"},
		"unsupported_grant_type": {KindCredentials, "this endpoint does not take grantType \"{grant}\": check grantType in {file}"},
	}
}

// refreshTokenDead reports whether a refusal of a refresh-token request is about
// the refresh token: the grant behind it needs a new start. Providers word a
// dead refresh token differently (invalid_grant; Dex's invalid_request "Refresh
// token expired."; invalid_token, unauthorized, GitHub's bad_refresh_token in a
// 200: docs/providers.md), so any refusal is one, except what is clearly about
// something else: the client (invalid_client, unauthorized_client, a 401 with no
// code or one that challenges the client), the request's scope (invalid_scope),
// a grant type the endpoint does not take, a request malformed on our side
// (invalid_request about anything but the refresh token; 411, 413, 414, 415),
// or an endpoint that is not there (a redirect, 404, 405). Rate limits, 408,
// 5xx, server_error and temporarily_unavailable are no refusals
// (TransientError: client.go's failingNow and unavailable). At a provider
// with codes of its own (p), a code that is not a refused grant says what else
// was refused.
func refreshTokenDead(ee *EndpointError, p credentials.Provider) bool {
	if isGrantRefusal(ee, p) {
		return true
	}
	if _, ok := readBy(p, ee); ok {
		return false
	}
	if isClientRefusal(ee) {
		return false
	}
	switch ee.Code {
	case "invalid_scope", "unsupported_grant_type":
		return false
	case "invalid_request":
		return aboutRefreshToken(ee.Description)
	}
	switch s := ee.Status; {
	case ee.ClientChallenge, noTokenEndpoint(s):
		return false
	case s == http.StatusLengthRequired, s == http.StatusRequestEntityTooLarge,
		s == http.StatusRequestURITooLong, s == http.StatusUnsupportedMediaType:
		return false
	}
	return true
}

// noTokenEndpoint reports whether a refusal's status says that tokenURL names
// no token endpoint: no HTTP answer, a redirect, 404 or 405.
func noTokenEndpoint(s int) bool {
	return s == 0 || s >= 300 && s < 400 || s == http.StatusNotFound || s == http.StatusMethodNotAllowed
}

// aboutRefreshToken reports whether an invalid_request's description says the
// refresh token sent is bad (Dex: "Refresh token is invalid or has already been
// claimed by another client.", "Refresh token expired."), not that the request
// lacks one, which would be a bug of ours.
func aboutRefreshToken(desc string) bool {
	d := strings.ToLower(desc)
	if !strings.Contains(d, "refresh token") && !strings.Contains(d, "refresh_token") && !strings.Contains(d, "refreshtoken") {
		return false
	}
	for _, missing := range []string{"missing", "required", "not supplied", "no refresh token", "not provided"} {
		if strings.Contains(d, missing) {
			return false
		}
	}
	return true
}

const clientRefused = "the client was refused: check appID and {secret}{style} in {file}"

// grantRefused says what to do when the grant in the credentials file is refused,
// by grant type, in RFC 6749's words (a provider's own: GrantAdvice).
func grantRefused() map[string]string {
	return map[string]string{
		credentials.GrantPassword:          "the username and password ({username} and {password} in {file}) were refused; correct them",
		credentials.GrantRefreshToken:      "get a new refresh token from the provider and put it in {file} (refreshToken)",
		credentials.GrantClientCredentials: "the provider refused the client-credentials grant; check the client's grants with the provider and {file}",
	}
}

// refusalAdvice looks a refusal up in the tables. p is the provider that reads
// it (refusalProvider): its codes mean something only there (KORE sends a
// "code" too).
func refusalAdvice(ee *EndpointError, c *credentials.Credentials, p credentials.Provider) advice {
	code := ee.Code
	if _, known := oauthCodes()[code]; !known && (ee.ClientChallenge || code == "" && ee.Status == http.StatusUnauthorized) {
		// A 401 without a code, or one whose WWW-Authenticate asks the
		// client to authenticate (refreshTokenDead), is about the client,
		// whatever else the provider calls it ("unauthorized").
		code = "invalid_client"
	}
	if c.GrantType == credentials.GrantRefreshToken && refreshTokenDead(ee, p) {
		// Every request of this grant is a refresh request: a pasted refresh
		// token refused in any provider's words is a refused grant.
		code = "invalid_grant"
	}
	var a advice
	rd, ok := readBy(p, ee)
	if ok {
		a = advice{kindOf(rd.Class), rd.Do}
	} else {
		a, ok = oauthCodes()[code]
	}
	if ok && a.Do == "" {
		a.Do = cmp.Or(p.GrantAdvice(c.GrantType), grantRefused()[c.GrantType])
	}
	if ok {
		return a
	}
	if noTokenEndpoint(ee.Status) {
		return advice{KindCredentials, "check tokenURL in {file}"}
	}
	return advice{KindCredentials, "the token endpoint refused the request; check the fields of {file}"}
}

// clientWords names the fields that authenticate the client in advice
// ({secret}, {style}): the secret, or the key the provider has registered for
// the client.
func clientWords(c *credentials.Credentials) (secret, style string) {
	if c != nil && c.KeyAuth() {
		return "clientAuth and clientKey (the key or certificate the provider has registered for the client)", ""
	}
	return "clientSecret", " (and authStyle)"
}

// refusalProvider is the provider that reads ee: that of c's token URL, or
// one whose words the answer is in (credentials.RefusalProvider).
func refusalProvider(ee *EndpointError, c *credentials.Credentials) credentials.Provider {
	return credentials.RefusalProvider(c.TokenURL, refusalOf(ee))
}

// refusalError is the *Error for a refusal of the grant in c. follow is the rule
// for a place the answer names (geolocation.go), for a Moved refusal's advice.
func refusalError(ee *EndpointError, c *credentials.Credentials, follow func(tokenURL, geo string) (string, error)) *Error {
	p := refusalProvider(ee, c)
	a := refusalAdvice(ee, c, p)
	secret, style := clientWords(c)
	hint := strings.NewReplacer("{file}", c.Path, "{grant}", c.GrantType,
		"{username}", c.Word("companyUUID"), "{password}", c.Word("companyRequestToken"),
		"{secret}", secret, "{style}", style).Replace(a.Do)
	if rd, ok := readBy(p, ee); ok && rd.Class == credentials.Moved {
		hint = movedHint(ee, c, p, follow)
	}
	then := NextRunAgain
	if a.Kind == KindUnexpected {
		then = NextReport
	}
	return &Error{Kind: a.Kind, Err: ee, Msg: ee.Error(), Hint: hint, Next: then}
}

// movedHint is for a refusal saying the user lives elsewhere, when the retry
// there was not possible or did not help: the tokenURL must name that place.
func movedHint(ee *EndpointError, c *credentials.Credentials, p credentials.Provider, follow func(tokenURL, geo string) (string, error)) string {
	// Only a place that would be followed is suggested: any other is the
	// endpoint's word for where the client secret should go.
	geo, err := follow(c.TokenURL, ee.Geolocation)
	if err != nil {
		geo = ""
	}
	return p.MovedAdvice(c.Path, geo)
}
