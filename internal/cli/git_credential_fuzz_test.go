package cli

import (
	"strings"
	"testing"
)

// FuzzReadGitCredential: whatever git (or anything else) writes on stdin, the
// parser ends without panicking, within its cap, and what it returns has no
// line break that could smuggle a second key into an answer.
func FuzzReadGitCredential(f *testing.F) {
	f.Add("protocol=https\nhost=example.com\npath=a/b.git\n\n")
	f.Add("protocol=https\r\nhost=h\r\n")
	f.Add("capability[]=authtype\nwwwauth[]=Bearer realm=\"x\"\nwwwauth[]=Basic\n")
	f.Add("=novalue\n")
	f.Add("no equals\n")
	f.Add("k=v\x00\n")
	f.Add("password=a=b=c")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := readGitCredential(strings.NewReader(in))
		if err != nil {
			return
		}
		for k, v := range got {
			if k == "" || strings.ContainsAny(k+v, "\n\x00") {
				t.Errorf("readGitCredential(%q) gave %q=%q", in, k, v)
			}
		}
	})
}

func TestReadGitCredential(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     map[string]string
		err      bool
	}{
		{"until blank line", "protocol=https\nhost=h\n\npassword=after\n", map[string]string{"protocol": "https", "host": "h"}, false},
		{"until EOF without newline", "protocol=https\nhost=h", map[string]string{"protocol": "https", "host": "h"}, false},
		{"CRLF", "protocol=https\r\n\r\n", map[string]string{"protocol": "https"}, false},
		{"value with =", "password=a=b\n", map[string]string{"password": "a=b"}, false},
		{"repeated key keeps the last", "wwwauth[]=a\nwwwauth[]=b\n", map[string]string{"wwwauth[]": "b"}, false},
		{"empty input", "", map[string]string{}, false},
		{"no =", "protocol\n", nil, true},
		{"empty key", "=x\n", nil, true},
		{"NUL", "host=a\x00b\n", nil, true},
		{"exactly the cap", strings.Repeat("k=v\n", maxGitCredentialInput/4), map[string]string{"k": "v"}, false},
		{"just over the cap", strings.Repeat("k=v\n", maxGitCredentialInput/4) + "k", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := readGitCredential(strings.NewReader(c.in))
			if (err != nil) != c.err {
				t.Fatalf("err = %v, want error: %v", err, c.err)
			}
			if !c.err && len(got) != len(c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
