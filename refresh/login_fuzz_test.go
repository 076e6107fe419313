package refresh

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzDiscovery: any discovery document gives endpoints that keep the rules
// (the same issuer, no plain http off loopback, a token endpoint) or an error.
func FuzzDiscovery(f *testing.F) {
	f.Add([]byte(`{"issuer":"https://id.example.com/r","token_endpoint":"https://id.example.com/r/token","authorization_endpoint":"https://id.example.com/r/auth"}`))
	f.Add([]byte(`{"issuer":"https://evil.example","token_endpoint":"https://x/t"}`))
	f.Add([]byte(`{"issuer":"https://id.example.com/r","token_endpoint":"http://remote/t"}`))
	f.Add([]byte("\uFEFF{\"issuer\":1}"))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ep, err := parseMetadata(body, "https://id.example.com/r/.well-known/openid-configuration", "https://id.example.com/r")
		if err != nil {
			return
		}
		if strings.TrimRight(ep.Issuer, "/") != "https://id.example.com/r" || ep.Token == "" {
			t.Fatalf("accepted %+v", ep)
		}
		for _, u := range []string{ep.Token, ep.Authorization, ep.DeviceAuthorization, ep.Revocation} {
			// Loopback is all of 127.0.0.0/8 and ::1 however written, and
			// localhost in any case, not only the three usual spellings.
			p, err := url.Parse(u)
			if u == "" || err == nil && p.Scheme != "http" {
				continue
			}
			if err != nil {
				t.Fatalf("accepted an endpoint that is no URL: %q", u)
			}
			host := p.Hostname()
			a, aerr := netip.ParseAddr(host)
			if !strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") && (aerr != nil || !a.Unmap().IsLoopback()) {
				t.Fatalf("accepted a plain http endpoint %q", u)
			}
		}
	})
}

// FuzzDeviceAuthorization: any device authorization answer is read or
// refused, never a panic, and what is shown has no control characters.
func FuzzDeviceAuthorization(f *testing.F) {
	f.Add([]byte(`{"device_code":"d","user_code":"ABCD-EFGH","verification_uri":"https://x/device","expires_in":900,"interval":5}`))
	f.Add([]byte(`{"device_code":"d","user_code":"A\u001b[2J","verification_url":"https://x","interval":"1e300"}`))
	f.Add([]byte(`{"device_code":"d","user_code":"u","verification_uri":"https://x/v","interval":-5,"expires_in":null}`))
	f.Add([]byte(`{"device_code":"d","user_code":"u","verification_uri":"https://x/v","interval":0.001,"expires_in":0.5}`))
	f.Add([]byte(`{"device_code":"d","user_code":"u","verification_uri":"https://x/v","interval":"2.5","expires_in":"1e400"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var raw map[string]json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			return
		}
		da, err := parseDeviceAuthorization(raw)
		if err != nil {
			return
		}
		if strings.ContainsFunc(da.UserCode+da.VerificationURI+da.VerificationURIComplete, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("control character shown: %+v", da)
		}
		// RFC 8628's interval: whole seconds, at least one.
		if da.Interval < time.Second || da.Interval%time.Second != 0 || da.Interval > maxDeviceInterval || da.ExpiresIn <= 0 {
			t.Fatalf("bad timing: %+v", da)
		}
	})
}

// FuzzCallback: any query on the callback path is answered, never a panic,
// and only the right state gets a code through.
func FuzzCallback(f *testing.F) {
	f.Add("code=abc&state=S")
	f.Add("error=access_denied&error_description=%1b[31mno&state=S")
	f.Add("code=abc&state=S&iss=https://evil")
	f.Add("state=S&state=T&code=")
	f.Fuzz(func(t *testing.T, query string) {
		cb := &callback{host: "example.com", path: "/callback", state: "S", issuer: "https://id.example.com", result: make(chan callbackResult, 1), outcome: make(chan bool, 1)}
		cb.finish(true) // the code, if one comes through, was redeemed
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/callback", nil)
		req.URL.RawQuery = query
		cb.ServeHTTP(rec, req)
		select {
		case r := <-cb.result:
			if req.URL.Query().Get("state") != "S" {
				t.Fatalf("a wrong state got through: %q", query)
			}
			if r.err == nil && r.code == "" {
				t.Fatal("no code and no error")
			}
		default:
			if rec.Code == http.StatusOK {
				t.Fatalf("answered 200 without a result: %q", query)
			}
		}
	})
}

func TestSameHostPort(t *testing.T) {
	for _, c := range []struct {
		host, listener string
		want           bool
	}{
		{"127.0.0.1:8400", "127.0.0.1:8400", true},
		{"LOCALHOST:8400", "localhost:8400", true},
		{"[::1]:8400", "[::1]:8400", true},
		{"127.0.0.1", "127.0.0.1:80", true}, // a browser leaves out port 80
		{"127.0.0.1:8401", "127.0.0.1:8400", false},
		{"evil.example:8400", "127.0.0.1:8400", false},
		{"evil.example", "127.0.0.1:80", false},
		{"", "127.0.0.1:8400", false},
	} {
		if got := sameHostPort(c.host, c.listener); got != c.want {
			t.Errorf("sameHostPort(%q, %q) = %v, want %v", c.host, c.listener, got, c.want)
		}
	}
}
