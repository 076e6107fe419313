package refresh

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// The refusal tables: what a token endpoint's refusal means and what a person must
// do about it. A refusal is looked up by Concur's numeric code when the endpoint is
// Concur's, else by RFC 6749's error code, else by HTTP status. In the advice,
// {file} is the credentials file and {grant} its grantType.

// advice is one row: the kind of failure and what to do.
type advice struct {
	Kind Kind
	Do   string
}

const newRequestToken = "generate a new company request token in Concur's Company Request Token screen and put it in {file} (companyRequestToken)"

// concurCodes are SAP Concur's error codes (docs/troubleshooting.md, "Concur's codes"). Code 16 is answered by
// a retry at the user's geolocation before it gets here; 108 (a dead refresh token)
// by a bootstrap. The tables are functions, built when a refusal is looked up,
// not at every start-up (docs/contract.md §6).
func concurCodes() map[int]advice {
	return map[int]advice{
		5:   {KindNeedsHuman, "the company UUID or company request token was refused; " + newRequestToken},
		14:  {KindNeedsHuman, "the Concur account is locked; contact your Concur administrator"},
		16:  {KindCredentials, ""}, // geolocationHint
		19:  {KindNeedsHuman, "the company request token was refused; " + newRequestToken},
		53:  {KindCredentials, "the company has not enabled this app; a Concur administrator of the company must enable it"},
		59:  {KindCredentials, "the app (appID) is disabled or unknown; check appID and {secret} in {file} and the app's status with SAP Concur"},
		64:  {KindNeedsHuman, "the company request token has expired or was used up; " + newRequestToken},
		106: {KindUnexpected, "the refresh token was not sent, which is a bug: please report it"},
		107: {KindCredentials, "this app is not allowed the refresh grant; check the app's grant settings with SAP Concur"},
		108: {KindNeedsHuman, ""}, // a refused grant: grantRefused
		120: {KindCredentials, "credentialType is not accepted; set it to \"authtoken\" in {file}"},
	}
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
// (TransientError: client.go's failingNow and unavailable). On a Concur
// endpoint, a code of its own other than 108 says what else was refused.
func refreshTokenDead(ee *EndpointError, concur bool) bool {
	if isGrantRefusal(ee) {
		return true
	}
	if _, ok := concurCodes()[ee.ConcurCode]; ok && concur {
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
// by grant type, in the provider's words: Concur's for Concur endpoints only.
func grantRefused() map[string]string {
	return map[string]string{
		credentials.GrantPassword:          "the username and password (companyUUID and companyRequestToken in {file}) were refused; correct them",
		credentials.GrantRefreshToken:      "get a new refresh token from the provider and put it in {file} (refreshToken)",
		credentials.GrantClientCredentials: "the provider refused the client-credentials grant; check the client's grants with the provider and {file}",
	}
}

// refusalAdvice looks a refusal up in the tables. concur says the endpoint is SAP
// Concur's: its codes mean something only there (KORE sends a "code" too).
func refusalAdvice(ee *EndpointError, c *credentials.Credentials, concur bool) advice {
	code := ee.Code
	if code == "" && ee.Status == http.StatusUnauthorized {
		code = "invalid_client"
	}
	if c.GrantType == credentials.GrantRefreshToken && refreshTokenDead(ee, concur) {
		// Every request of this grant is a refresh request: a pasted refresh
		// token refused in any provider's words is a refused grant.
		code = "invalid_grant"
	}
	a, ok := concurCodes()[ee.ConcurCode]
	if !ok || !concur {
		a, ok = oauthCodes()[code]
	}
	if ok && a.Do == "" {
		a.Do = grantRefused()[c.GrantType]
		if concur && c.GrantType == credentials.GrantPassword {
			a.Do = "the company UUID or company request token was refused; " + newRequestToken
		}
	}
	if ok {
		return a
	}
	if noTokenEndpoint(ee.Status) {
		return advice{KindCredentials, "check tokenURL in {file}"}
	}
	return advice{KindCredentials, "the token endpoint refused the request; check the fields of {file}"}
}

// clientWords names the fields that authenticate the client in advice:
// the secret, or the key the provider has registered for the client.
func clientWords(c *credentials.Credentials) *strings.Replacer {
	if c != nil && c.KeyAuth() {
		return strings.NewReplacer("{secret}", "clientAuth and clientKey (the key or certificate the provider has registered for the client)", "{style}", "")
	}
	return strings.NewReplacer("{secret}", "clientSecret", "{style}", " (and authStyle)")
}

// concurEndpoint reports whether ee came from SAP Concur's endpoint: c's
// tokenURL is Concur's, or the answer carries both an OAuth "error" and a
// Concur code (KORE sends a "code" alone).
func concurEndpoint(ee *EndpointError, c *credentials.Credentials) bool {
	return credentials.IsConcur(c.TokenURL) || (ee.ConcurCode != 0 && ee.Code != "")
}

// refusalError is the *Error for a refusal of the grant in c. follow is the rule
// for a Concur geolocation (geolocation.go), for code 16's advice.
func refusalError(ee *EndpointError, c *credentials.Credentials, follow func(tokenURL, geo string) (string, error)) *Error {
	concur := concurEndpoint(ee, c)
	a := refusalAdvice(ee, c, concur)
	hint := strings.NewReplacer("{file}", c.Path, "{grant}", c.GrantType).Replace(a.Do)
	hint = clientWords(c).Replace(hint)
	if concur && ee.ConcurCode == 16 {
		hint = geolocationHint(ee, c, follow)
	}
	then := ThenRun
	if a.Kind == KindUnexpected {
		then = ThenReport
	}
	return &Error{Kind: a.Kind, Err: ee, Msg: ee.Error(), Hint: hint, Then: then}
}

// geolocationHint is for Concur's code 16 when the retry at the user's data centre
// was not possible or did not help: the tokenURL must name that data centre.
func geolocationHint(ee *EndpointError, c *credentials.Credentials, follow func(tokenURL, geo string) (string, error)) string {
	// Only a geolocation that would be followed is suggested: any other is the
	// endpoint's word for where the client secret should go.
	if geo, err := follow(c.TokenURL, ee.Geolocation); err == nil {
		return fmt.Sprintf("the user lives in another Concur data centre: set tokenURL in %s to %s", c.Path, geo)
	}
	return fmt.Sprintf("the user lives in another Concur data centre, and the answer named none that can be used; set tokenURL in %s to your data centre's token URL", c.Path)
}
