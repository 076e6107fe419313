// Package fakeserver is an in-process RFC 6749 token endpoint for tests and
// for the `tokenkeeper demo` command.
//
// It behaves like SAP Concur (the default Style: password grant with
// credtype, expires_in as the string "3600", refresh_expires_in as an
// absolute Unix time, a geolocation in every body, error bodies with a
// numeric "code") or like Keycloak (expires_in a number, refresh_expires_in
// seconds from now, not-before-policy and session_state, no geolocation), or
// like Dex (Keycloak's bodies; a dead refresh token is 400 invalid_request;
// one refresh token per user and client, so a new grant ends the earlier ones).
// A refresh request asking for a scope its refresh token does not carry is
// refused with invalid_scope, as panva's oidc-provider does.
// It issues random tokens (crypto/rand), can rotate refresh tokens (single
// use), revoke them, make the company request token stale, counts requests
// per grant and injects faults one request at a time: any status and body,
// an HTML page with 200, a huge body, a delay, a hang, a connection reset.
//
// The token endpoint is served at TokenPath ("/oauth2/v0/token", Concur's
// path) and at "/token". AuthorizePath is an authorization endpoint that
// approves at once (a user already logged in): a code for this client, with
// PKCE (S256), redirected to a loopback URL only, redeemed once; with
// Options.Consent it shows a consent page instead, a form a person (or a
// scripted browser) approves or denies. The issuer (URL()) has a discovery
// document at DiscoveryPath, and the device grant (RFC 8628) is served at
// DeviceAuthPath, its user codes approved on the page at DeviceVerifyPath.
// SetFailMode makes every token request fail until set back (a refused grant,
// dead refresh tokens, an outage): `tokenkeeper demo --serve` is this server
// on loopback. A tiny protected resource at APIPath answers 200
// to a valid bearer access token and 401 otherwise, for testing clients that
// renew on 401.
//
// Caveats: this is a fake. Tokens live in memory only; the clock is
// Options.Now, so expiry follows a fake clock when one is injected, while
// Fault.Delay is real time. The server keeps every issued token until it is
// closed, which is fine for tests and a demo and wrong for anything else.
// Requests and LastForm hold secrets as received: tests may compare them but
// must never print them. The package must not import "testing": the demo
// links it into the tokenkeeper binary.
package fakeserver
