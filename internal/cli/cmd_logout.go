package cli

import (
	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

func logoutCommand() *command {
	return &command{
		name: "logout", args: "", summary: "revoke the refresh token at the provider and forget it",
		long: `Revoke the refresh token at the provider's revocation endpoint (RFC 7009), then
set the token record aside without its tokens
(refreshTokenObjectFile.json.logged-out-<UTC time>: times, scope and endpoint);
later runs exit 77 until tokenkeeper login. Where the provider has no revocation
endpoint (GitHub, Entra), the token is forgotten here and logout says that the
grant is still live at the provider and where to revoke it.

With grantType refresh_token, the refreshToken of credentials.json stays known
as used: later runs exit 77 until a new one is put there. With a grant that
needs no person (client_credentials, password), the next run gets a new grant.`,
		example: `tokenkeeper --profile keycloak logout`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			return func(a *app, _ []string) int { return a.exit(a.logout()) }
		},
	}
}

// logout revokes the refresh token at the provider (RFC 7009) and sets the
// token record aside; later runs exit 77 until login. A provider without a
// revocation endpoint keeps the grant live: logout says so and where to revoke
// it, and still exits 0 (this host has forgotten it, which is what was asked).
func (a *app) logout() error {
	a.rerun = "logout"
	m, err := a.manager("tokenkeeper logout", true, false)
	if err != nil {
		return err
	}
	res, err := m.Logout(a.ctx)
	if err != nil {
		return err
	}
	switch {
	case res.MovedTo == "" && res.Forgotten == "":
		a.info("no token is stored for this profile (%s); nothing to revoke", a.paths.TokenFile)
		return nil
	case res.Revoked:
		a.info("revoked the refresh token at %s", res.RevocationURL)
	default:
		where := "revoke it in your account's settings at the provider"
		if ep, err := a.client().ResolveEndpoints(a.ctx, m.Creds); err == nil {
			if at := refresh.RevokeAt(*ep); at != "" {
				where = "revoke it at " + at
			}
		}
		if res.NotRevocable != "" {
			a.warn("the revocation endpoint does not revoke refresh tokens ("+res.NotRevocable+"): the grant may still be live at the provider", where)
			break
		}
		if res.Unrevoked != "" && res.Forgotten != "" {
			a.warn(res.Unrevoked) // no refresh token: no grant to revoke by hand
			break
		}
		if res.Unrevoked != "" {
			a.warn(res.Unrevoked, where)
			break
		}
		a.warn("the provider has no revocation endpoint: the grant is still live there", where)
	}
	done := "moved the token record to " + res.MovedTo
	if res.Forgotten != "" {
		done = "removed the tokens from " + res.Forgotten + " (no copy kept)"
	}
	// What a later run needs is the decision on what logout left: a login,
	// a new seed refresh token, or nothing (a grant the credentials get alone).
	next := "the next run gets a new grant with grantType " + m.Creds.GrantType
	if res.Next != nil {
		_, next = a.exitOf(res.Next)
	}
	a.message("info", "logged out: "+done, next)
	return nil
}
