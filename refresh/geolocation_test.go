package refresh

import (
	"errors"
	"net"
	"net/url"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// loopbackConcur is the test rule of geolocation.go: Concur's hosts, and http
// loopback servers standing for Concur's data centres.
func loopbackConcur(u *url.URL) bool {
	if credentials.IsConcurHost(u) {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return u.Scheme == "http" && u.User == nil && ip != nil && ip.IsLoopback()
}

func TestGeoTokenURL(t *testing.T) {
	const us = "https://us.api.concursolutions.com/oauth2/v0/token"
	for _, tt := range []struct {
		name, tokenURL, geo, want string
		notConcur                 bool
	}{
		{"emea", us, "https://emea.api.concursolutions.com", "https://emea.api.concursolutions.com/oauth2/v0/token", false},
		{"trailing slash", us, "https://emea.api.concursolutions.com/", "https://emea.api.concursolutions.com/oauth2/v0/token", false},
		{"china", "https://cn.api.concurcdc.cn/oauth2/v0/token", "https://cn.api.concurcdc.cn", "https://cn.api.concurcdc.cn/oauth2/v0/token", false},
		{"port 443", us, "https://emea.api.concursolutions.com:443", "https://emea.api.concursolutions.com:443/oauth2/v0/token", false},
		{"upper case, dot", us, "https://EMEA.api.ConcurSolutions.com.", "https://EMEA.api.ConcurSolutions.com./oauth2/v0/token", false},
		{"token URL not Concur", "https://auth.example.com/token", "https://emea.api.concursolutions.com", "", true},
		{"token URL loopback", "http://127.0.0.1:8080/oauth2/v0/token", "http://127.0.0.1:9090", "", true},
		{"token URL look-alike", "https://us.api.concursolutions.com.evil.example/t", "https://emea.api.concursolutions.com", "", true},
		{"token URL http", "http://us.api.concursolutions.com/oauth2/v0/token", "https://emea.api.concursolutions.com", "", true},
		{"geo elsewhere", us, "https://evil.example.com", "", false},
		{"geo look-alike", us, "https://evilconcursolutions.com", "", false},
		{"geo suffix trick", us, "https://emea.api.concursolutions.com.evil.example", "", false},
		{"geo bare domain", us, "https://concursolutions.com", "", false},
		{"geo http", us, "http://emea.api.concursolutions.com", "", false},
		{"geo loopback", us, "http://127.0.0.1:9090", "", false},
		{"geo other port", us, "https://emea.api.concursolutions.com:8443", "", false},
		{"geo user info", us, "https://u:p@emea.api.concursolutions.com", "", false},
		{"geo path", us, "https://emea.api.concursolutions.com/elsewhere", "", false},
		{"geo query", us, "https://emea.api.concursolutions.com?x=1", "", false},
		{"geo not a URL", us, "emea", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&Manager{}).geoTokenURL(tt.tokenURL, tt.geo)
			if got != tt.want || (err == nil) != (tt.want != "") || errors.Is(err, credentials.ErrNotRouted) != tt.notConcur {
				t.Errorf("geoTokenURL(%q, %q) = %q, %v; want %q (not Concur: %v)", tt.tokenURL, tt.geo, got, err, tt.want, tt.notConcur)
			}
		})
	}
}

// TestManagerGeolocationOfOtherProvider: with the rule as the binary runs it, a
// provider that is not Concur (a loopback fake) sending a geolocation that
// names another server gets refreshes at its own token URL; the other server
// receives nothing, and the record keeps the geolocation.
func TestManagerGeolocationOfOtherProvider(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.m.trustHost = nil
	other := newRecorder(t, reply{status: 200, body: `{"access_token":"stolen","expires_in":3600}`})
	e.writeFile(t, map[string]any{"access_token": "fake-old-at", "refresh_token": "fake-old-rt", "geolocation": other.URL,
		"obtained_at": "2026-11-21T21:00:00Z", "expires_at": "2026-11-21T22:00:00Z", "token_url": e.fs.TokenURL()})
	// The fake knows no "fake-old-rt": the refresh is refused, and the bootstrap
	// that follows must not go there either.
	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	if n := len(other.requests()); n != 0 {
		t.Errorf("%d requests at the geolocation of a provider that is not Concur, want 0", n)
	}
	if len(r.Warnings) == 0 || e.fs.Count("refresh_token") != 1 {
		t.Errorf("refreshes at tokenURL %d, warnings %q; want 1 refused refresh there", e.fs.Count("refresh_token"), r.Warnings)
	}
}
