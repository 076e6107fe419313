package kube

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, ns, prefix, err string
	}{
		{in: "k8s://apps", ns: "apps", prefix: "tokenkeeper"},
		{in: "k8s://apps/", ns: "apps", prefix: "tokenkeeper"},
		{in: "k8s://apps/acme", ns: "apps", prefix: "acme"},
		{in: "k8s://apps/acme-eu/", ns: "apps", prefix: "acme-eu"},
		{in: "k8s://", err: "namespace"},
		{in: "k8s://Apps", err: "namespace"},
		{in: "k8s://apps/a/b", err: "prefix"},
		{in: "k8s://apps/Acme", err: "prefix"},
		{in: "k8s://apps/" + strings.Repeat("a", 32), err: "prefix"},
		{in: "k8s://a_b", err: "namespace"},
		{in: "etcd://apps", err: "want k8s://"},
		{in: "k8s://bot:hunter2@apps", err: "no user, password or query"},
		{in: "k8s://apps?token=hunter2", err: "no user, password or query"},
	} {
		c, err := ParseURL(tc.in)
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error repeats the password: %v", tc.in, err)
		}
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: got %v, want an error about %s", tc.in, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case tc.err == "" && (c.Namespace != tc.ns || c.Prefix != tc.prefix):
			t.Errorf("%q: got %+v", tc.in, c)
		}
	}
}

func TestObjectName(t *testing.T) {
	c := Config{Namespace: "apps", Prefix: "tokenkeeper"}
	if n, err := c.ObjectName("default"); err != nil || n != "tokenkeeper-default" {
		t.Errorf("default: %q, %v", n, err)
	}
	for _, p := range []string{"Work", "a_b", "a.b", "-a", strings.Repeat("a", 60)} {
		if n, err := c.ObjectName(p); err == nil {
			t.Errorf("profile %q named an object %q", p, n)
		}
	}
}

// FuzzParseURL: any accepted URL names objects Kubernetes accepts, and
// String gives back a URL that parses to the same.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"k8s://apps", "k8s://apps/acme", "k8s://a-b/c-d/", "k8s://", "k8s://A/b"} {
		f.Add(s, "default")
	}
	f.Fuzz(func(t *testing.T, raw, profile string) {
		c, err := ParseURL(raw)
		if err != nil {
			return
		}
		if !dnsLabel(c.Namespace) || !dnsLabel(c.Prefix) {
			t.Fatalf("%q: accepted %+v", raw, c)
		}
		if again, err := ParseURL(c.String()); err != nil || again != c {
			t.Fatalf("%q: String %q parses to %+v, %v", raw, c.String(), again, err)
		}
		if n, err := c.ObjectName(profile); err == nil && (!dnsLabel(n) || !strings.HasPrefix(n, c.Prefix+"-")) {
			t.Fatalf("profile %q: object name %q", profile, n)
		}
	})
}
