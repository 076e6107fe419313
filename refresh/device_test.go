package refresh_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// The device grant polls at the advertised interval, five seconds slower after
// each slow_down, and sends Accept: application/json on every request.
func TestDevicePolling(t *testing.T) {
	var mu sync.Mutex
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("%s: Accept %q, want application/json", r.URL.Path, r.Header.Get("Accept"))
		}
		r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/device" {
			w.Write([]byte(`{"device_code":"dc-123456","user_code":"WXYZ-1234","verification_uri":"https://x/activate","expires_in":600,"interval":2}`))
			return
		}
		if r.Form.Get("grant_type") != refresh.GrantTypeDeviceCode || r.Form.Get("device_code") != "dc-123456" {
			t.Errorf("token request form %v", r.Form)
		}
		mu.Lock()
		polls++
		n := polls
		mu.Unlock()
		switch n {
		case 1:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"authorization_pending"}`))
		case 2:
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":"slow_down"}`))
		case 3:
			// GitHub's way: an error in a 200.
			w.Write([]byte(`{"error":"authorization_pending"}`))
		default:
			w.Write([]byte(`{"access_token":"at-1","token_type":"bearer","expires_in":3600,"refresh_token":"rt-1"}`))
		}
	}))
	defer srv.Close()
	var waits []time.Duration
	c := &refresh.Client{Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	var shown []string
	tok, err := c.Device(context.Background(), refresh.LoginConfig{ClientID: "app",
		Endpoints: refresh.Endpoints{Token: srv.URL + "/token", DeviceAuthorization: srv.URL + "/device"},
		Notify:    func(m string) { shown = append(shown, m) }})
	if err != nil || tok.RefreshToken != "rt-1" {
		t.Fatalf("got %+v, %v", tok, err)
	}
	want := []time.Duration{2 * time.Second, 2 * time.Second, 7 * time.Second, 7 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	if len(shown) == 0 || shown[0] != "to log in, open https://x/activate and enter the code WXYZ-1234" {
		t.Errorf("shown %q", shown)
	}
}

// expired_token ends the device grant with the provider's code.
func TestDeviceExpired(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/device" {
			w.Write([]byte(`{"device_code":"dc","user_code":"U","verification_uri":"https://x/a","interval":1}`))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"expired_token","error_description":"the code expired"}`))
	}))
	defer srv.Close()
	c := &refresh.Client{Sleep: func(context.Context, time.Duration) error { return nil }}
	_, err := c.Device(context.Background(), refresh.LoginConfig{ClientID: "app",
		Endpoints: refresh.Endpoints{Token: srv.URL + "/token", DeviceAuthorization: srv.URL + "/device"}})
	var le *refresh.LoginError
	if !errors.As(err, &le) || le.Code != "expired_token" {
		t.Fatalf("got %v, want expired_token", err)
	}
}

// RFC 9207: a callback whose iss is not the issuer's ends the login (a mix-up
// attack sends the person's code to another provider's client); the right iss
// is accepted and the code redeemed with the verifier.
func TestLoginIssuerParameter(t *testing.T) {
	for _, tt := range []struct {
		iss  string
		want string // "" for success
	}{
		{"https://evil.example", "RFC 9207"},
		{"https://id.example.com", ""},
		{"", ""},
	} {
		t.Run(tt.iss, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				if r.Form.Get("code") != "the-code" || len(r.Form.Get("code_verifier")) != 43 || r.Header.Get("Accept") != "application/json" {
					t.Errorf("token request: %v", r.Form)
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"access_token":"at","expires_in":60,"refresh_token":"rt"}`))
			}))
			defer srv.Close()
			cfg := refresh.LoginConfig{ClientID: "app", Wait: 10 * time.Second,
				Endpoints: refresh.Endpoints{Issuer: "https://id.example.com", Authorization: "https://id.example.com/auth", Token: srv.URL},
				Open: func(authURL string) error {
					u, _ := url.Parse(authURL)
					q := url.Values{"code": {"the-code"}, "state": {u.Query().Get("state")}}
					if tt.iss != "" {
						q.Set("iss", tt.iss)
					}
					go func() {
						resp, err := http.Get(u.Query().Get("redirect_uri") + "?" + q.Encode())
						if err == nil {
							resp.Body.Close()
						}
					}()
					return nil
				}}
			tok, err := (&refresh.Client{}).AuthorizationCode(context.Background(), cfg)
			switch {
			case tt.want == "" && (err != nil || tok.RefreshToken != "rt"):
				t.Fatalf("got %+v, %v", tok, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
