package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
)

// FuzzAnswer: whatever an API server (or what poses as one) answers — any
// status, any body — the client returns a value or an error, never panics,
// and never puts a control character (a terminal escape) in an error or a
// profile name.
func FuzzAnswer(f *testing.F) {
	// Each input asks one question of the server (call picks which): four
	// requests per input made the brief fuzz run in CI four times slower.
	for _, seed := range []struct {
		st   int
		body []byte
	}{
		{200, []byte(`{"metadata":{"name":"tokenkeeper-p","resourceVersion":"7"},"data":{"record":"e30="}}`)},
		{200, []byte(`{"metadata":{"continue":""},"items":[{"metadata":{"name":"tokenkeeper-a"}},{"metadata":{"name":"tokenkeeper-\u001b[2J"}}]}`)},
		{403, []byte(`{"kind":"Status","message":"secrets \"x\" is forbidden: \u001b[31mUser","reason":"Forbidden","code":403}`)},
		{409, []byte(`{"kind":"Status","reason":"Conflict"}`)},
		{200, []byte("{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"resourceVersion\":\"9\"},\"data\":{\"record\":\"e30=\"}}}\n{\"type\":\"ERROR\"}\n")},
		{200, []byte(`{"spec":{"holderIdentity":"\u001b]0;x\u0007","leaseDurationSeconds":-5}}`)},
	} {
		for call := range uint8(4) {
			f.Add(call, seed.st, seed.body)
		}
	}
	var (
		mu     sync.Mutex
		status int
		body   []byte
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st, b := status, body
		mu.Unlock()
		w.WriteHeader(st)
		w.Write(b)
	}))
	f.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := NewClient(Config{Namespace: "apps", Prefix: "tokenkeeper"}, func() (*Conn, error) {
		return &Conn{Server: srv.URL, Token: "t", TLS: &tls.Config{RootCAs: pool}}, nil
	})
	f.Cleanup(c.Close)
	clean := func(t *testing.T, what, s string) {
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) }) >= 0 {
			t.Fatalf("%s has a control character: %q", what, s)
		}
	}
	f.Fuzz(func(t *testing.T, call uint8, st int, b []byte) {
		if st < 200 || st > 599 || (st >= 500 || st == 429) {
			st = 200 + st%100 // a 5xx or 429 is retried until the deadline: slow, not interesting
			if st < 200 {
				st = 200
			}
		}
		mu.Lock()
		status, body = st, b
		mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		switch call % 4 {
		case 0:
			if _, err := c.getSecret(ctx, "tokenkeeper-p"); err != nil {
				clean(t, "getSecret's error", err.Error())
			}
		case 1:
			if _, err := c.getLease(ctx, "tokenkeeper-p"); err != nil {
				clean(t, "getLease's error", err.Error())
			}
		case 2:
			names, err := c.Profiles(ctx)
			if err != nil {
				clean(t, "Profiles' error", err.Error())
			}
			for _, n := range names {
				clean(t, "a profile name", n)
			}
		case 3:
			_ = c.watchSecret(ctx, "tokenkeeper-p", "1", func(string, *secret) {})
		}
	})
}
