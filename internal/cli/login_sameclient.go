package cli

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// maxSameClientScan bounds how many profiles a login looks at for another
// grant of its client: two small local reads each, no request.
const maxSameClientScan = 1000

// warnSameClient warns, after a login, about the other local profiles that
// hold a live refresh token of the same client (appID) at the same provider.
// Dex keeps one refresh token per user and client (docs/providers.md): the
// new grant may end theirs. It is said after the login, not before: only a
// login that succeeded made a new grant, and only then is the token endpoint
// of an issuer known. Nothing is sent and no file is written; another
// profile's record is read through the file store, which refuses a file of
// another user, and its credentials only when that record is this user's.
// A --dir profile has no neighbours, and with --store the records are not
// local: neither looks.
func (a *app) warnSameClient(c *credentials.Credentials, tok *refresh.Token) {
	if a.g.dir != "" || a.g.store != "" || c == nil || c.AppID == "" {
		return
	}
	names := a.sameClientProfiles(c, tok)
	if len(names) == 0 {
		return
	}
	what := fmt.Sprintf("profile %s holds a live refresh token", names[0])
	if len(names) > 1 {
		what = fmt.Sprintf("profiles %s hold live refresh tokens", strings.Join(names, ", "))
	}
	a.warn(fmt.Sprintf("%s of the same client (appID) at the same provider; providers such as Dex keep one refresh token per user and client, so if they log in the same user, this login may end their grant", what),
		fmt.Sprintf("to use one grant where both are needed, keep one profile (%s; on other hosts, --store shares one profile's grant), or give each profile a client of its own", a.otherProfile(names[0]).cmdLine("token")))
}

// sameClientProfiles names the other profiles under this profile's roots
// whose credentials name c's appID at c's provider (sameProvider) and whose
// record holds a refresh token the next run would send (refresh.Decide).
func (a *app) sameClientProfiles(c *credentials.Credentials, tok *refresh.Token) []string {
	names, err := localProfiles(filepath.Dir(a.paths.ConfigDir), filepath.Dir(a.paths.StateDir))
	if err != nil {
		return nil
	}
	mine := providerKeys(c, tok)
	self, _ := os.Stat(a.paths.TokenFile)
	now := time.Now()
	var out []string
	for i, name := range names {
		if i == maxSameClientScan {
			break
		}
		if name == a.paths.Profile {
			continue
		}
		p, err := storage.Resolve(storage.Options{Profile: name, ConfigDir: a.g.configDir, StateDir: a.g.stateDir}, nil)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(p.TokenFile); err != nil || self != nil && os.SameFile(fi, self) {
			continue // no record, or this profile's under another name
		}
		other, err := (&refresh.Manager{Paths: p}).Load()
		if err != nil || other == nil || other.RefreshToken == "" {
			continue
		}
		oc, err := credentials.Load(p.CredentialsFile)
		if err != nil || oc.AppID != c.AppID {
			continue
		}
		plan := refresh.Decide(refresh.State{Creds: oc, Token: other, Record: p.TokenFile, Now: now},
			refresh.Policy{NoRefreshWarnings: true})
		if plan.RefreshUsable && sameProvider(mine, providerKeys(oc, plan.Token)) {
			out = append(out, name)
		}
	}
	return out
}

// providerKeys are what identify a grant's provider without a request: the
// issuer, and the token endpoint (credentials.json's, else the one the
// record was issued by, which is the issuer's discovered endpoint), each
// normalised (normalEndpoint).
func providerKeys(c *credentials.Credentials, tok *refresh.Token) []string {
	var keys []string
	if c.Issuer != "" {
		keys = append(keys, "issuer "+normalEndpoint(c.Issuer))
	}
	tokenURL := c.TokenURL
	if tokenURL == "" && tok != nil {
		tokenURL = tok.TokenURL
	}
	if tokenURL != "" {
		keys = append(keys, "token "+normalEndpoint(tokenURL))
	}
	return keys
}

// sameProvider reports whether two grants share an issuer or a token endpoint.
func sameProvider(a, b []string) bool {
	for _, k := range a {
		for _, l := range b {
			if k == l {
				return true
			}
		}
	}
	return false
}

// normalEndpoint writes an endpoint URL one way: scheme and host in lower
// case, no default port, no trailing slash.
func normalEndpoint(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return strings.TrimRight(strings.TrimSpace(raw), "/")
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if port := u.Port(); port == "443" && u.Scheme == "https" || port == "80" && u.Scheme == "http" {
		u.Host = u.Hostname()
		if strings.Contains(u.Host, ":") {
			u.Host = "[" + u.Host + "]"
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.User, u.Fragment = "", nil, ""
	return u.String()
}
