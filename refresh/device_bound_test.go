package refresh_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// A device answer that says its code lives for years (expires_in 1e9), with an
// endpoint that answers authorization_pending for ever, must not keep login
// polling for years: the wait is bounded (--wait may lengthen it up to the
// code's own lifetime), and what is hit is reported as a timeout.
func TestDeviceLifetimeBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/device" {
			w.Write([]byte(`{"device_code":"dc","user_code":"U","verification_uri":"https://x/a","interval":1,"expires_in":1e9}`))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":"authorization_pending"}`))
	}))
	defer srv.Close()
	for _, tt := range []struct {
		wait, max time.Duration
	}{
		{0, time.Hour},
		{3 * time.Hour, 3 * time.Hour},
	} {
		var left time.Duration
		c := &refresh.Client{Sleep: func(ctx context.Context, d time.Duration) error {
			dl, ok := ctx.Deadline()
			if !ok {
				t.Fatal("polling without a deadline")
			}
			left = time.Until(dl)
			return context.DeadlineExceeded
		}}
		_, err := c.Device(context.Background(), refresh.LoginConfig{ClientID: "app", Wait: tt.wait,
			Endpoints: refresh.Endpoints{Token: srv.URL + "/token", DeviceAuthorization: srv.URL + "/device"}})
		var le *refresh.LoginError
		if !errors.As(err, &le) {
			t.Fatalf("wait %s: got %v, want a LoginError", tt.wait, err)
		}
		if left > tt.max {
			t.Errorf("wait %s: polls for %s, want at most %s", tt.wait, left.Round(time.Hour), tt.max)
		}
	}
}
