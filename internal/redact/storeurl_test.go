package redact

import (
	"strings"
	"testing"
)

func TestStoreURL(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"etcd://a:1,b:2/p?ca=/etc/ca.pem&user=bot&password=hunter2", "etcd://a:1,b:2/p?ca=/etc/ca.pem&user=bot&password=…"},
		{"etcd://u:p@ss/w?rd@a:1/p", "etcd://…"},
		{"k8s://admin:s3cret@prod/tk", "k8s://…@prod/tk"},
		{"k8s://prod/tk?token=abc", "k8s://prod/tk?token=…"},
		{"etcd://a:1?bare", "etcd://a:1?…"},
		{"no scheme " + strings.Repeat("x", 300), "(not a store URL, 310 characters)"},
		// A password with ? in it (the host behind it is hidden too: the @
		// might stand in a query), a host without a port, a missing slash,
		// a fragment: none of it shows.
		{"k8s://admin:s3cr?et@apps", "k8s://…"},
		{"etcd://admin:hunter2?x@etcd1", "etcd://…"},
		// An @ in a query value: what follows it is no host, and may be a
		// password or the end of one.
		{"etcd://h:1?user=me@corp&password=hunter2", "etcd://…"},
		{"etcd://h:1?password=hun@ter2", "etcd://…"},
		{"etcd://h:1#frag@ment", "etcd://…"},
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
	f.Add("password") // the key that is shown by design, as a password
	f.Fuzz(func(t *testing.T, secret string) {
		if len(secret) < 8 || strings.ContainsAny(secret, "@/?#&=%:,") {
			return
		}
		for _, tpl := range [][2]string{
			{"etcd://user:", "@h:2379/p"},
			{"k8s://ns/p?password=", ""},
			{"etcds://h:1,g:2?user=u&token=", ""},
			{"etcd://h:1?user=me@corp&password=", ""},
			{"etcd://h:1?password=pa@", ""},
		} {
			raw := tpl[0] + secret + tpl[1]
			// A secret that is also text the URL shows without it (the key
			// "password") is no leak.
			if shown := StoreURL(tpl[0]+tpl[1], "user"); strings.Contains(shown, secret) {
				continue
			}
			if got := StoreURL(raw, "user"); strings.Contains(got, secret) {
				t.Errorf("StoreURL(%q) = %q shows %q", raw, got, secret)
			}
		}
	})
}
