package redact

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// StoreURL is URL for a store's URL (etcd://h1:2379,h2:2379/prefix?ca=…,
// k8s://namespace/prefix), which url.Parse does not take: a list of hosts, and
// query values that are file paths or names rather than secrets. It drops what
// a confused user may have put in a userinfo (whatever characters its password
// holds: ?, /, # or @ too), masks every query value but those of the keys in
// keep, and cuts what is left to 200 bytes, so that an error about the URL
// never shows a password.
func StoreURL(raw string, keep ...string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		// Not a URL of a store: what follows a scheme may be anything the
		// user typed, a password included.
		if s, _, ok := strings.Cut(raw, ":"); ok && !strings.ContainsAny(s, "/@?#") && len(s) <= 16 {
			return s + ":…"
		}
		return fmt.Sprintf("(not a store URL, %d characters)", len(raw))
	}
	// Whatever may be a userinfo is hidden, at the cost of hiding a host
	// when an @ stands in a query value. When a ? or # comes before that @,
	// the @ may stand in a query value or a fragment (?user=me@corp&password=…,
	// ?password=pa@ss), and what follows it may be the rest of a password:
	// nothing of it is shown, a host that follows a password holding ? or #
	// neither.
	if at, _ := Userinfo(rest); at >= 0 {
		if strings.ContainsAny(rest[:at], "?#") {
			return cut(scheme + "://…")
		}
		rest = "…@" + rest[at+1:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i] + "#…"
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	if hasQuery {
		parts := strings.Split(query, "&")
		for i, p := range parts {
			k, _, hasValue := strings.Cut(p, "=")
			dk, err := url.QueryUnescape(k)
			switch {
			case !hasValue:
				parts[i] = "…"
			case err != nil || !slices.Contains(keep, dk):
				parts[i] = k + "=…"
			}
		}
		rest += "?" + strings.Join(parts, "&")
	}
	return cut(scheme + "://" + rest)
}

func cut(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// Userinfo finds the userinfo in rest (a store URL after "://"). A password
// may hold any character, ? / # @ too, so it is found from the right: it may
// be everything up to the last @ (at, or -1 without one), and it certainly is
// (sure) when a list of HOST:PORT follows that @ up to the end, a /, a ? or a
// #. Showing a URL hides all it may be; refusing one takes only what it
// certainly is, so that an @ in a path or a query value is no userinfo.
func Userinfo(rest string) (at int, sure bool) {
	at = strings.LastIndex(rest, "@")
	if at < 0 {
		return -1, false
	}
	hosts := rest[at+1:]
	if i := strings.IndexAny(hosts, "/?#"); i >= 0 {
		hosts = hosts[:i]
	}
	for _, hp := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" {
			return at, false
		}
		if _, err := strconv.Atoi(port); err != nil {
			return at, false
		}
	}
	return at, true
}
