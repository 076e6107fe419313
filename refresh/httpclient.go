package refresh

import (
	"net/http"
	"time"
)

// NewHTTPClient returns an *http.Client for Client.HTTP to be shared by many
// Managers, as `refresh --all` does: it keeps up to conns idle connections per
// host, so that a fleet of profiles renewing at one token endpoint reuses
// connections instead of opening (and leaving in TIME_WAIT) one per profile.
// net/http's default keeps two. Redirects are followed as Client does by
// default: on the same host only.
func NewHTTPClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(conns, 2) * 4
	t.MaxIdleConnsPerHost = max(conns, 2)
	t.IdleConnTimeout = 30 * time.Second
	return &http.Client{Transport: t, CheckRedirect: sameHostRedirect}
}
