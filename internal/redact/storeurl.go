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
	// A password may hold any character, ? / # @ too: everything up to the
	// last @ is taken for a userinfo, at the cost of hiding a host when an
	// @ stands in a query value. When a ? or # comes before that @, the @
	// may stand in a query value or a fragment (?user=me@corp&password=…,
	// ?password=pa@ss), and what follows it may be the rest of a password:
	// nothing of it is shown, a host that follows a password holding ? or #
	// neither.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
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

// UserinfoEnd is the index in rest (the URL after "://") of the @ that ends
// a userinfo, or -1: the last @ that is followed by a list of HOST:PORT
// (up to the end, a /, a ? or a #). A password may hold any character, so
// the userinfo is found from the hosts that follow it, not from where a
// path or query would start.
func UserinfoEnd(rest string) int {
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return -1
	}
	hosts := rest[at+1:]
	if i := strings.IndexAny(hosts, "/?#"); i >= 0 {
		hosts = hosts[:i]
	}
	for _, hp := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" {
			return -1
		}
		if _, err := strconv.Atoi(port); err != nil {
			return -1
		}
	}
	return at
}
