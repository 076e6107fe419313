package etcd

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// DefaultPrefix is where records live when the URL names no prefix.
const DefaultPrefix = "/tokenkeeper"

// Config is a parsed store URL:
//
//	etcd://HOST:PORT[,HOST:PORT…][/PREFIX][?user=NAME]
//	etcds://HOST:PORT[,HOST:PORT…][/PREFIX][?ca=FILE&cert=FILE&key=FILE&user=NAME]
//
// etcds uses HTTPS: ca is a PEM file of the certificate authorities that sign
// the members' certificates (the system roots when absent), cert and key a
// client certificate for etcd's --client-cert-auth. user names an etcd user;
// its password is never part of the URL (URLs end up in argv, shell history
// and logs): the caller reads it from elsewhere (the CLI: the environment
// variable TOKENKEEPER_STORE_PASSWORD) and sets Password.
type Config struct {
	Endpoints []string // base URLs, e.g. "http://10.0.0.1:2379", in failover order
	Prefix    string   // e.g. "/tokenkeeper", no trailing slash
	TLS       bool
	CAFile    string
	CertFile  string
	KeyFile   string
	User      string
	Password  string // never shown; not parsed from the URL
}

// URLForm is the store URL's shape, as messages name it; the query's keys
// are Config's.
const URLForm = "etcd://HOST:PORT[,HOST:PORT…][/PREFIX]"

// IsURL tells whether raw is meant for this store (its scheme is etcd or etcds).
func IsURL(raw string) bool {
	return strings.HasPrefix(raw, "etcd://") || strings.HasPrefix(raw, "etcds://")
}

// ParseURL parses a store URL (see Config). Errors never repeat a password.
func ParseURL(raw string) (Config, error) {
	var c Config
	scheme, rest, ok := strings.Cut(raw, "://")
	switch {
	case !ok:
		return c, fmt.Errorf("etcd: store URL %q: want %s", redactURL(raw), URLForm)
	case scheme == "etcd":
	case scheme == "etcds":
		c.TLS = true
	default:
		return c, fmt.Errorf("etcd: store URL %q: unknown scheme %q (want etcd or etcds)", redactURL(raw), scheme)
	}
	if _, sure := redact.Userinfo(rest); sure {
		return c, fmt.Errorf("etcd: store URL %q: put the user in ?user=NAME and the password in TOKENKEEPER_STORE_PASSWORD, never in the URL", redactURL(raw))
	}
	rest, query, _ := strings.Cut(rest, "?")
	hosts, prefix, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(hosts, "@"); at >= 0 {
		return c, fmt.Errorf("etcd: store URL %q: put the user in ?user=NAME and the password in TOKENKEEPER_STORE_PASSWORD, never in the URL", redactURL(raw))
	}
	if err := c.setEndpoints(hosts); err != nil {
		return c, fmt.Errorf("etcd: store URL %q: %w", redactURL(raw), err)
	}
	if err := c.setPrefix(prefix); err != nil {
		return c, fmt.Errorf("etcd: store URL %q: %w", redactURL(raw), err)
	}
	if err := c.setQuery(query); err != nil {
		return c, fmt.Errorf("etcd: store URL %q: %w", redactURL(raw), err)
	}
	if host := c.ClearText(); c.User != "" && host != "" {
		return c, fmt.Errorf("etcd: store URL %q: ?user= over etcd:// would send the password in clear text to %s; use etcds:// (TLS), as etcd's own guide asks for authentication", redactURL(raw), host)
	}
	return c, nil
}

// ClearText returns the first member reached without TLS on another host
// than this one ("" if none): the record, refresh token included, crosses the
// network in clear text to it.
func (c Config) ClearText() string {
	if c.TLS {
		return ""
	}
	for _, e := range c.Endpoints {
		if host := hostOf(e); !isLoopback(host) {
			return host
		}
	}
	return ""
}

// hostOf is the host of an endpoint "scheme://HOST:PORT".
func hostOf(endpoint string) string {
	_, hostport, _ := strings.Cut(endpoint, "://")
	host, _, _ := net.SplitHostPort(hostport)
	return host
}

// isLoopback tells whether host names this machine's loopback interface, the
// one place a password may travel without TLS.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) setEndpoints(hosts string) error {
	if hosts == "" {
		return errors.New("no HOST:PORT")
	}
	scheme := "http://"
	if c.TLS {
		scheme = "https://"
	}
	// An endpoint is named by its place in the list, not its text: what does
	// not parse as HOST:PORT may be a password typed in the wrong place.
	for i, hp := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(hp)
		if err != nil {
			return fmt.Errorf("endpoint %d: want HOST:PORT", i+1)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 { // digits only: no sign
			return fmt.Errorf("endpoint %d: bad port", i+1)
		}
		// net/url has the last word on a host: one it refuses (a control
		// character, a space, {) or reads otherwise (a % escape, a #) would
		// fail every request until the timeout, like an unreachable store.
		hostport := net.JoinHostPort(host, port)
		if u, err := url.Parse(scheme + hostport); host == "" || err != nil || u.Host != hostport {
			return fmt.Errorf("endpoint %d: bad host", i+1)
		}
		c.Endpoints = append(c.Endpoints, scheme+hostport)
	}
	return nil
}

func (c *Config) setPrefix(p string) error {
	p = strings.Trim(p, "/")
	if p == "" {
		c.Prefix = DefaultPrefix
		return nil
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("prefix %q: empty, . or .. segment", "/"+p)
		}
		for _, r := range seg {
			if r < 0x21 || r > 0x7e {
				return fmt.Errorf("prefix %q: only visible ASCII", "/"+p)
			}
		}
	}
	c.Prefix = "/" + p
	return nil
}

func (c *Config) setQuery(q string) error {
	vals, err := url.ParseQuery(q)
	if err != nil {
		// url's error quotes the bad escape, which may be part of a value.
		return errors.New("query: not URL-encoded (a % not followed by two hex digits, or a ;)")
	}
	for k, v := range vals {
		known := k == "ca" || k == "cert" || k == "key" || k == "user" || k == "password"
		if !known {
			// Not named: a parameter without = may be a password.
			return errors.New("unknown query parameter (known: ca, cert, key, user)")
		}
		if len(v) != 1 || v[0] == "" {
			return fmt.Errorf("query parameter %s: want one non-empty value", k)
		}
		switch k {
		case "ca":
			c.CAFile = v[0]
		case "cert":
			c.CertFile = v[0]
		case "key":
			c.KeyFile = v[0]
		case "user":
			c.User = v[0]
		case "password":
			return errors.New("the password goes in TOKENKEEPER_STORE_PASSWORD, never in the URL")
		}
	}
	if (c.CAFile != "" || c.CertFile != "" || c.KeyFile != "") && !c.TLS {
		return errors.New("ca, cert and key need etcds://")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("cert and key go together")
	}
	return nil
}

// String is the URL as the user may see it: hosts, prefix and the names of
// the files, never a password.
func (c Config) String() string {
	s := c.hostsURL() + c.Prefix
	q := url.Values{}
	for k, v := range map[string]string{"ca": c.CAFile, "cert": c.CertFile, "key": c.KeyFile, "user": c.User} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

// hostsURL is the URL's scheme and hosts: etcd://HOST:PORT[,HOST:PORT…].
func (c Config) hostsURL() string {
	scheme := "etcd://"
	if c.TLS {
		scheme = "etcds://"
	}
	hosts := make([]string, len(c.Endpoints))
	for i, e := range c.Endpoints {
		_, hosts[i], _ = strings.Cut(e, "://")
	}
	return scheme + strings.Join(hosts, ",")
}

// redactURL is the store URL as errors show it: no userinfo, and no query
// value but those of the keys that name no secret (ca, cert, key, user).
func redactURL(raw string) string { return redact.StoreURL(raw, "ca", "cert", "key", "user") }
