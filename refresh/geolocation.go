package refresh

import (
	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// A token answer, or a refusal, may name where the user lives (its
// "geolocation": docs/contract.md §2); only the provider whose host the token
// URL is may send requests there, by its own rule (credentials.Provider.Route;
// the provider's file says why the rule is strict).
// Anywhere else the place is kept in the token record and never used.

// geoTokenURL returns the token URL at geo for a grant whose token endpoint is
// tokenURL, or why it must not be used: credentials.ErrNotRouted, or geo is not
// a place the provider sends requests to.
func (m *Manager) geoTokenURL(tokenURL, geo string) (string, error) {
	return credentials.Route(tokenURL, geo, m.trustHost)
}

// routeStrict is geoTokenURL by the providers' own host rules alone, for
// Decide, which has no Manager (a Manager's trustHost is the tests').
func routeStrict(tokenURL, geo string) (string, error) {
	return credentials.Route(tokenURL, geo, nil)
}
