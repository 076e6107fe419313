package refresh

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestClientRedactsSentEncodings: an endpoint that echoes the Authorization
// header and the form body it received — in its description, error_uri,
// message and the correlation id header, for a refusal and a 5xx — gets none
// of the secrets shown in any encoding they were sent in, nor kept in the
// body of the wrapped *oauth2.RetrieveError, which its Error() may print.
func TestClientRedactsSentEncodings(t *testing.T) {
	const id, secret, rt = "app id", "sec+ret/with=odd&chars", "rt+with/odd=chars&x"
	forms := []string{secret, rt, url.QueryEscape(secret), url.QueryEscape(rt)}
	pair := []byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
		forms = append(forms, enc.EncodeToString(pair))
	}
	for _, status := range []int{400, 503} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			echo := r.Header.Get("Authorization") + " " + string(body)
			w.Header().Set("Concur-Correlationid", echo)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"error": "invalid_grant", "error_description": echo, "message": echo, "error_uri": "https://e.example/?" + string(body)})
		}))
		t.Cleanup(srv.Close)
		for _, style := range []string{"params", "header"} {
			c := &Client{Timeout: 10 * time.Second, Sleep: func(ctx context.Context, d time.Duration) error { return errors.New("no retry") }}
			_, err := c.Exchange(t.Context(), Request{URL: srv.URL, Form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}},
				ClientID: id, ClientSecret: secret, AuthStyle: style})
			var ee *EndpointError
			text := err.Error()
			if errors.As(err, &ee) {
				text += " " + ee.Description + " " + ee.Message + " " + ee.URI + " " + ee.CorrelationID
				if ee.Retrieve != nil {
					// x/oauth2 prints the body when there is no error code.
					ee.Retrieve.ErrorCode = ""
					text += " " + ee.Retrieve.Error()
				}
			}
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("%d %s: the error shows %q: %s", status, style, f, text)
				}
			}
			if !strings.Contains(text, "[redacted]") {
				t.Errorf("%d %s: the echo is not shown redacted: %s", status, style, text)
			}
		}
	}
}

// An endpoint's long description is cut for a message on a rune boundary: the
// message stays valid UTF-8 (a cut in the middle of "é" would not be).
func TestLongDescriptionCutOnRuneBoundary(t *testing.T) {
	d := strings.Repeat("a", 199) + strings.Repeat("é", 50)
	for _, err := range []error{
		&EndpointError{URL: "https://idp.example/token", Status: 400, Code: "invalid_request", Description: d},
		&LoginError{Code: "access_denied", Description: d},
	} {
		msg := err.Error()
		if !utf8.ValidString(msg) {
			t.Errorf("%T message is not valid UTF-8: %q", err, msg)
		}
		if !strings.Contains(msg, strings.Repeat("a", 199)+"…") {
			t.Errorf("%T message does not keep the description's start and mark the cut: %q", err, msg)
		}
	}
}
