package refresh

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Discovery's errors name the discovery document they could not read, never
// a "token endpoint": the token endpoint is what the document was to name.
func TestDiscoveryErrorsNameTheDocument(t *testing.T) {
	var answer func(w http.ResponseWriter, issuer string)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		answer(w, "http://"+r.Host)
	}))
	defer srv.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	for _, tt := range []struct {
		name   string
		issuer string
		answer func(w http.ResponseWriter, issuer string)
	}{
		{"NotFound", srv.URL, func(w http.ResponseWriter, _ string) { http.NotFound(w, nil) }},
		{"ServerError", srv.URL, func(w http.ResponseWriter, _ string) { http.Error(w, "down", http.StatusBadGateway) }},
		{"NotJSON", srv.URL, func(w http.ResponseWriter, _ string) { w.Write([]byte("<html>")) }},
		{"OtherIssuer", srv.URL, func(w http.ResponseWriter, _ string) { w.Write([]byte(`{"issuer":"https://elsewhere.example"}`)) }},
		{"NoTokenEndpoint", srv.URL, func(w http.ResponseWriter, iss string) { w.Write([]byte(`{"issuer":"` + iss + `"}`)) }},
		{"Refused", closed, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			answer = tt.answer
			c := &Client{Timeout: 5 * time.Second}
			_, err := c.Discover(context.Background(), tt.issuer)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "discovery document "+tt.issuer+"/.well-known/") || strings.Contains(msg, "token endpoint") {
				t.Errorf("error %q: want it to name the discovery document, not a token endpoint", msg)
			}
		})
	}
}

// An endpoint the document names against the tokenURL rule is refused in
// credentials' words, after the endpoint's name and without their package's.
func TestDiscoveryRefusesAnEndpointByTheTokenURLRule(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"issuer":"http://` + r.Host + `","token_endpoint":"http://auth.example.com/token"}`))
	}))
	defer srv.Close()
	_, err := (&Client{Timeout: 5 * time.Second}).Discover(context.Background(), srv.URL)
	want := `: token_endpoint: "http://auth.example.com/token" uses http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost): secrets would travel in clear text; use https://`
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("got %v, want it to end %q", err, want)
	}
}
