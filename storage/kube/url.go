package kube

import (
	"fmt"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// DefaultPrefix is the first part of the objects' names when the URL names
// no prefix: tokenkeeper-<profile>.
const DefaultPrefix = "tokenkeeper"

// Config is a parsed store URL:
//
//	k8s://NAMESPACE[/PREFIX]
//
// Each profile's record is the Secret PREFIX-<profile> in NAMESPACE, and
// its lock the Lease of the same name. The URL names no server and no
// credential: those come from where kubectl finds them (see Connect).
type Config struct {
	Namespace string
	Prefix    string
}

// URLForm is the store URL's shape, as messages name it.
const URLForm = "k8s://NAMESPACE[/PREFIX]"

// IsURL tells whether raw is meant for this store (its scheme is k8s).
func IsURL(raw string) bool { return strings.HasPrefix(raw, "k8s://") }

// ParseURL parses a store URL (see Config).
func ParseURL(raw string) (Config, error) {
	var c Config
	rest, ok := strings.CutPrefix(raw, "k8s://")
	if !ok {
		return c, fmt.Errorf("kubernetes: store URL %q: want %s", redact.StoreURL(raw), URLForm)
	}
	// Credentials come from the kubeconfig or the pod, never the URL (it
	// ends up in argv and logs): a user, a password or a query is refused
	// without repeating it.
	if strings.ContainsAny(rest, "@?#") {
		return c, fmt.Errorf("kubernetes: store URL %q: want %s, with no user, password or query: the credentials come from the kubeconfig or the pod", redact.StoreURL(raw), URLForm)
	}
	ns, prefix, _ := strings.Cut(rest, "/")
	prefix = strings.TrimSuffix(prefix, "/")
	if !dnsLabel(ns) {
		return c, fmt.Errorf("kubernetes: store URL %q: namespace %q: want lower-case letters, digits and '-', at most 63, as Kubernetes names a namespace", redact.StoreURL(raw), cut(ns))
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	// The objects are named PREFIX-<profile>: the prefix is the start of a
	// DNS label, leaving room for a profile name.
	if !dnsLabel(prefix) || len(prefix) > maxPrefix {
		return c, fmt.Errorf("kubernetes: store URL %q: prefix %q: want lower-case letters, digits and '-', at most %d", redact.StoreURL(raw), cut(prefix), maxPrefix)
	}
	return Config{Namespace: ns, Prefix: prefix}, nil
}

// maxPrefix leaves a profile name of 31 characters room in the 63 of a
// label value.
const maxPrefix = 31

// String is the URL.
func (c Config) String() string { return "k8s://" + c.Namespace + "/" + c.Prefix }

// ObjectName is the name of the Secret and the Lease of profile, or an
// error saying why the profile cannot name an object: Kubernetes names are
// lower case (a DNS label), profile names need not be.
func (c Config) ObjectName(profile string) (string, error) {
	name := c.Prefix + "-" + profile
	if !dnsLabel(profile) || !dnsLabel(name) {
		return "", fmt.Errorf("kubernetes: profile %q cannot name a Secret in the store (%s-%s): with a Kubernetes store, profile names are lower-case letters, digits and '-', and the name at most 63 characters", cut(profile), c.Prefix, cut(profile))
	}
	return name, nil
}

// dnsLabel is RFC 1123's label, as Kubernetes checks namespaces and label
// values: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63.
func dnsLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// cut keeps a value quoted in a message short.
func cut(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
