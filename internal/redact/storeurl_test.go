package redact

import (
	"strings"
	"testing"
)

func TestStoreURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"etcd://a:1,b:2/p?ca=/etc/ca.pem&user=bot&password=hunter2", "etcd://a:1,b:2/p?ca=/etc/ca.pem&user=bot&password=…"},
		{"etcd://u:p@ss/w?rd@a:1/p", "etcd://…@a:1/p"},
		{"k8s://admin:s3cret@prod/tk", "k8s://…@prod/tk"},
		{"k8s://prod/tk?token=abc", "k8s://prod/tk?token=…"},
		{"etcd://a:1?bare", "etcd://a:1?…"},
		{"no scheme " + strings.Repeat("x", 300), "(not a store URL, 310 characters)"},
		// A password with ? in it, a host without a port, a missing slash,
		// a fragment: none of it shows.
		{"k8s://admin:s3cr?et@apps", "k8s://…@apps"},
		{"etcd://admin:hunter2?x@etcd1", "etcd://…@etcd1"},
		{"etcd:/admin:hunter2@h:2379", "etcd:…"},
		{"etcd://h:2379#hunter2", "etcd://h:2379#…"},
	} {
		if got := StoreURL(tt.in, "ca", "user"); got != tt.want {
			t.Errorf("StoreURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUserinfo(t *testing.T) {
	for _, tt := range []struct {
		rest string
		at   int
		sure bool
	}{
		{"a:1,b:2/p", -1, false},
		{"bot:pw@a:1", 6, true},
		{"bot:p/w?x@a:1,b:2/p?ca=x", 9, true},
		{"admin:pw@prod/tk", 8, false},             // no port: it may be one, shown hidden, not refused
		{"a:1/p?user=bot@corp.example", 14, false}, // an @ in a query value
		{"a@b@c:1#x", 3, true},
	} {
		at, sure := Userinfo(tt.rest)
		if at != tt.at || sure != tt.sure {
			t.Errorf("Userinfo(%q) = %d, %v, want %d, %v", tt.rest, at, sure, tt.at, tt.sure)
		}
	}
}

// FuzzStoreURL: no password in a userinfo or a query value survives, and no
// input panics.
func FuzzStoreURL(f *testing.F) {
	f.Add("etcds://u:pw@a:1,b:2/p?ca=x&password=pw")
	f.Add("k8s://ns/prefix")
	f.Add("etcd://a@b@c:1/?&=&x")
	f.Fuzz(func(t *testing.T, secret string) {
		if len(secret) < 8 || strings.ContainsAny(secret, "@/?#&=%:,") {
			return
		}
		for _, raw := range []string{
			"etcd://user:" + secret + "@h:2379/p",
			"k8s://ns/p?password=" + secret,
			"etcds://h:1,g:2?user=u&token=" + secret,
		} {
			if got := StoreURL(raw, "user"); strings.Contains(got, secret) {
				t.Errorf("StoreURL(%q) = %q shows %q", raw, got, secret)
			}
		}
	})
}
