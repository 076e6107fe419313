package refresh

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// Values the tests send; none may appear in an error or a log.
const (
	testClientID     = "fake-app-id"
	testClientSecret = "fake-client-secret-XYZ"
	testRequestToken = "fake-company-request-token-XYZ"
	testCompanyUUID  = "fake-company-uuid"
)

var errStop = errors.New("test: no more retries")

// reply is one canned answer of a recorder.
type reply struct {
	status int
	body   string
	header http.Header
}

// received is what a recorder saw of one request.
type received struct {
	method, path, contentType, accept string
	auth                              string // the Authorization header
	form                              url.Values
	basicUser, basicPass              string
	basic                             bool
}

// recorder is a token endpoint that answers from a script (the last reply repeats)
// and records every request, so that tests can assert what the client sent.
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	replies []reply
	got     []received
}

func newRecorder(t *testing.T, replies ...reply) *recorder {
	t.Helper()
	r := &recorder{replies: replies}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	form, _ := url.ParseQuery(string(body))
	rec := received{method: req.Method, path: req.URL.Path, contentType: req.Header.Get("Content-Type"),
		accept: req.Header.Get("Accept"), auth: req.Header.Get("Authorization"), form: form}
	rec.basicUser, rec.basicPass, rec.basic = req.BasicAuth()
	r.mu.Lock()
	r.got = append(r.got, rec)
	rp := r.replies[min(len(r.got), len(r.replies))-1]
	r.mu.Unlock()
	for k, v := range rp.header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rp.status)
	io.WriteString(w, rp.body)
}

func (r *recorder) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *recorder) tokenURL() string { return r.URL + "/oauth2/v0/token" }

// sleeps records the waits a Client asks for instead of waiting; after limit
// waits (0: no limit) it stops the retries.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
	limit int
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit > 0 && len(s.waits) >= s.limit {
		return errStop
	}
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// noRetry makes a Client give up after the first failed attempt.
func noRetry(context.Context, time.Duration) error { return errStop }

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func okReply(t *testing.T) reply {
	return reply{status: 200, body: string(fixture(t, "responses/concur_password.json"))}
}

func passwordRequest(u, style string) Request {
	return Request{
		URL: u,
		Form: url.Values{"grant_type": {"password"}, "username": {testCompanyUUID},
			"password": {testRequestToken}, "credtype": {"authtoken"}},
		ClientID: testClientID, ClientSecret: testClientSecret, AuthStyle: style,
	}
}

func TestExchangeSendsForm(t *testing.T) {
	tests := []struct {
		name      string
		req       Request
		wantForm  url.Values
		wantBasic []string // user, password as decoded by the server; nil: no Basic
	}{
		{
			name: "password grant with credtype, params",
			req:  passwordRequest("", "params"),
			wantForm: url.Values{"grant_type": {"password"}, "username": {testCompanyUUID}, "password": {testRequestToken},
				"credtype": {"authtoken"}, "client_id": {testClientID}, "client_secret": {testClientSecret}},
		},
		{
			name: "client_credentials with scope, params",
			req: Request{Form: url.Values{"grant_type": {"client_credentials"}, "scope": {"a b"}},
				ClientID: testClientID, ClientSecret: testClientSecret, AuthStyle: "params"},
			wantForm: url.Values{"grant_type": {"client_credentials"}, "scope": {"a b"},
				"client_id": {testClientID}, "client_secret": {testClientSecret}},
		},
		{
			name: "refresh_token grant, params",
			req: Request{Form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"fake-rt"}},
				ClientID: testClientID, ClientSecret: testClientSecret, AuthStyle: "params"},
			wantForm: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"fake-rt"},
				"client_id": {testClientID}, "client_secret": {testClientSecret}},
		},
		{
			name: "empty style means params",
			req: Request{Form: url.Values{"grant_type": {"client_credentials"}},
				ClientID: testClientID, ClientSecret: testClientSecret},
			wantForm: url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testClientSecret}},
		},
		{
			name: "public client: no client_secret",
			req: Request{Form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"fake-rt"}},
				ClientID: testClientID, AuthStyle: "params"},
			wantForm: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"fake-rt"}, "client_id": {testClientID}},
		},
		{
			name:      "password grant, header: Basic, not in the body",
			req:       passwordRequest("", "header"),
			wantForm:  url.Values{"grant_type": {"password"}, "username": {testCompanyUUID}, "password": {testRequestToken}, "credtype": {"authtoken"}},
			wantBasic: []string{testClientID, testClientSecret},
		},
		{
			name: "header with characters to escape (RFC 6749 §2.3.1)",
			req: Request{Form: url.Values{"grant_type": {"client_credentials"}},
				ClientID: "id:with/odd", ClientSecret: "se+cr et%", AuthStyle: "header"},
			wantForm:  url.Values{"grant_type": {"client_credentials"}},
			wantBasic: []string{url.QueryEscape("id:with/odd"), url.QueryEscape("se+cr et%")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, okReply(t))
			tt.req.URL = rec.tokenURL()
			orig := len(tt.req.Form)
			c := &Client{Sleep: noRetry, UserAgent: "tokenkeeper-test"}
			if _, err := c.Exchange(t.Context(), tt.req); err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			reqs := rec.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			got := reqs[0]
			if got.method != http.MethodPost {
				t.Errorf("method %s, want POST", got.method)
			}
			if got.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type %q, want exactly application/x-www-form-urlencoded", got.contentType)
			}
			if got.accept != "application/json" {
				t.Errorf("Accept %q, want application/json", got.accept)
			}
			if !reflect.DeepEqual(got.form, tt.wantForm) {
				t.Errorf("form has keys %v, want %v (values compared too)", keys(got.form), keys(tt.wantForm))
			}
			if tt.wantBasic == nil {
				if got.basic {
					t.Error("HTTP Basic sent, want credentials in the body only")
				}
			} else if !got.basic || got.basicUser != tt.wantBasic[0] || got.basicPass != tt.wantBasic[1] {
				t.Errorf("Basic auth sent %v, user matches %v, password matches %v; want all true",
					got.basic, got.basicUser == tt.wantBasic[0], got.basicPass == tt.wantBasic[1])
			}
			if n := len(tt.req.Form); n != orig {
				t.Errorf("Request.Form changed by Exchange: %d keys, want %d", n, orig)
			}
		})
	}
}

func keys(v url.Values) []string {
	var ks []string
	for k := range v {
		ks = append(ks, k)
	}
	return ks
}

func TestExchangeStartIsRequestStart(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := newRecorder(t, okReply(t))
	c := &Client{Clock: fixedClock(at), Sleep: noRetry}
	tok, err := c.Exchange(t.Context(), passwordRequest(rec.tokenURL(), "params"))
	if err != nil {
		t.Fatal(err)
	}
	if !tok.ObtainedAt.Equal(at) || !tok.Expiry.Equal(at.Add(time.Hour)) {
		t.Errorf("ObtainedAt, Expiry = %v, %v; want %v, %v (the injected clock)", tok.ObtainedAt, tok.Expiry, at, at.Add(time.Hour))
	}
}

func TestExchangeRetriesTransient(t *testing.T) {
	rec := newRecorder(t, reply{status: 503}, reply{status: 503}, okReply(t))
	s := &sleeps{}
	var retried []int
	c := &Client{Sleep: s.sleep, OnRetry: func(attempt int, _ time.Duration, _ error) { retried = append(retried, attempt) }}
	tok, err := c.Exchange(t.Context(), passwordRequest(rec.tokenURL(), "params"))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken == "" {
		t.Error("no access token")
	}
	if n := len(rec.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	waits := s.got()
	if len(waits) != 2 {
		t.Fatalf("%d waits, want 2", len(waits))
	}
	// Exponential with equal jitter: attempt n waits in [b/2, b], b = 250ms·2^(n-1).
	for i, w := range waits {
		b := baseBackoff << i
		if w < b/2 || w > b {
			t.Errorf("wait %d = %v, want within [%v, %v]", i+1, w, b/2, b)
		}
	}
	if !reflect.DeepEqual(retried, []int{1, 2}) {
		t.Errorf("OnRetry attempts %v, want [1 2]", retried)
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempt := 1; attempt <= 40; attempt++ {
		b := min(baseBackoff<<min(attempt-1, 10), maxBackoff)
		for range 50 {
			if d := backoff(attempt); d < b/2 || d > b {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, b/2, b)
			}
		}
	}
}

func TestExchangeRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter func() string
		min, max   time.Duration // of the first wait
		wantWaits  int
	}{
		{"429 seconds", 429, func() string { return "7" }, 7 * time.Second, 7 * time.Second, 1},
		{"503 seconds", 503, func() string { return "3" }, 3 * time.Second, 3 * time.Second, 1},
		{"429 HTTP date", 429, func() string { return time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat) },
			15 * time.Second, 20 * time.Second, 1},
		{"date in the past: backoff", 429, func() string { return "Sun, 06 Nov 1994 08:49:37 GMT" }, baseBackoff / 2, baseBackoff, 1},
		{"garbage: backoff", 429, func() string { return "soon" }, baseBackoff / 2, baseBackoff, 1},
		{"shorter than the backoff: backoff", 429, func() string { return "0" }, baseBackoff / 2, baseBackoff, 1},
		{"beyond the total bound: give up at once", 429, func() string { return "120" }, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, reply{status: tt.status, header: http.Header{"Retry-After": {tt.retryAfter()}}}, okReply(t))
			s := &sleeps{}
			c := &Client{Sleep: s.sleep}
			_, err := c.Exchange(t.Context(), passwordRequest(rec.tokenURL(), "params"))
			waits := s.got()
			if len(waits) != tt.wantWaits {
				t.Fatalf("%d waits (%v), want %d", len(waits), waits, tt.wantWaits)
			}
			if tt.wantWaits == 0 {
				var te *TransientError
				if !errors.As(err, &te) || te.Status != tt.status {
					t.Errorf("Exchange error %v, want a TransientError with status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Errorf("Exchange: %v", err)
			}
			if w := waits[0]; w < tt.min || w > tt.max {
				t.Errorf("wait %v, want within [%v, %v]", w, tt.min, tt.max)
			}
		})
	}
}

func TestExchangeNoRetryOnRefusal(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		fixture  string
		wantCode string
	}{
		{"400 invalid_grant", 400, "concur_error_code108.json", "invalid_grant"},
		{"400 keycloak", 400, "keycloak_error_not_active.json", "invalid_grant"},
		{"401 invalid_client", 401, "concur_error_invalid_client_code59.json", "invalid_client"},
		{"403 no body", 403, "", ""},
		{"404 html", 404, "html_proxy_error.html", ""},
		{"200 with an error body", 200, "bakrypt_error_invalid_grant.json", "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.fixture != "" {
				body = string(fixture(t, "responses/"+tt.fixture))
			}
			rec := newRecorder(t, reply{status: tt.status, body: body}, okReply(t))
			s := &sleeps{}
			_, err := (&Client{Sleep: s.sleep}).Exchange(t.Context(), passwordRequest(rec.tokenURL(), "params"))
			var ee *EndpointError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want an *EndpointError", err)
			}
			if ee.Code != tt.wantCode || ee.Status != tt.status {
				t.Errorf("Code, Status = %q, %d; want %q, %d", ee.Code, ee.Status, tt.wantCode, tt.status)
			}
			if n := len(rec.requests()); n != 1 || len(s.got()) != 0 {
				t.Errorf("%d requests, %d waits; want 1, 0", n, len(s.got()))
			}
		})
	}
}

func TestExchangeRedirects(t *testing.T) {
	t.Run("to another host: not followed", func(t *testing.T) {
		other := newRecorder(t, okReply(t))
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.tokenURL(), http.StatusTemporaryRedirect)
		}))
		defer front.Close()
		_, err := (&Client{Sleep: noRetry}).Exchange(t.Context(), passwordRequest(front.URL+"/token", "params"))
		var ee *EndpointError
		if !errors.As(err, &ee) {
			t.Fatalf("error %v, want an *EndpointError (not retried)", err)
		}
		if n := len(other.requests()); n != 0 {
			t.Errorf("the other host got %d requests, want 0: client credentials replayed", n)
		}
		if strings.Contains(err.Error(), testClientSecret) {
			t.Error("error contains the client secret")
		}
	})
	t.Run("same host: followed", func(t *testing.T) {
		rec := newRecorder(t, reply{status: 307, header: http.Header{"Location": {"/oauth2/v0/token2"}}}, okReply(t))
		if _, err := (&Client{Sleep: noRetry}).Exchange(t.Context(), passwordRequest(rec.tokenURL(), "params")); err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		reqs := rec.requests()
		if len(reqs) != 2 || reqs[1].path != "/oauth2/v0/token2" || reqs[1].form.Get("client_secret") != testClientSecret {
			t.Errorf("%d requests, want 2 with the form re-sent to /oauth2/v0/token2", len(reqs))
		}
	})
}

func TestExchangeBodyCap(t *testing.T) {
	okJSON := `{"access_token":"fake-big","expires_in":3600}`
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"exactly 1 MiB", MaxResponseBody, false},
		{"1 MiB + 1", MaxResponseBody + 1, true},
		{"10 MiB", 10 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := okJSON + strings.Repeat(" ", tt.size-len(okJSON))
			rec := newRecorder(t, reply{status: 200, body: body})
			tok, err := (&Client{Sleep: noRetry}).Exchange(t.Context(), passwordRequest(rec.tokenURL(), "params"))
			if !tt.wantErr {
				if err != nil || tok.AccessToken != "fake-big" {
					t.Fatalf("Exchange: %v, want the token", err)
				}
				return
			}
			var te *TransientError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), "1 MiB") {
				t.Errorf("error %v, want a TransientError naming the 1 MiB cap", err)
			}
		})
	}
}

func newFake(t *testing.T, o fakeserver.Options) *fakeserver.Server {
	t.Helper()
	o.ClientID, o.ClientSecret = testClientID, testClientSecret
	o.CompanyUUID, o.RequestToken = testCompanyUUID, testRequestToken
	s := fakeserver.New(o)
	t.Cleanup(s.Close)
	return s
}

func TestExchangeFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault fakeserver.Fault
		text  string // in the error
	}{
		{"connection reset", fakeserver.Fault{Reset: true}, ""},
		{"hang", fakeserver.Fault{Hang: true}, "timeout"},
		{"html 200", fakeserver.Fault{Status: 200, Body: fakeserver.ProxyErrorHTML}, "not a token"},
		{"huge body", fakeserver.Fault{HugeBody: 10 << 20}, "1 MiB"},
		{"500 json", fakeserver.Fault{Status: 500, Body: `{"message":"boom"}`}, "500"},
		{"502 html", fakeserver.Fault{Status: 502, Body: fakeserver.ProxyErrorHTML}, "HTML"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is transient", func(t *testing.T) {
			fs := newFake(t, fakeserver.Options{})
			fs.Fail(tt.fault)
			c := &Client{Sleep: noRetry, RequestTimeout: 200 * time.Millisecond}
			_, err := c.Exchange(t.Context(), passwordRequest(fs.TokenURL(), "params"))
			var te *TransientError
			if !errors.As(err, &te) {
				t.Fatalf("error %v, want a *TransientError", err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q, want it to contain %q", err, tt.text)
			}
			assertNoSecrets(t, "error", err.Error())
		})
		t.Run(tt.name+" then success", func(t *testing.T) {
			fs := newFake(t, fakeserver.Options{})
			fs.Fail(tt.fault)
			s := &sleeps{}
			c := &Client{Sleep: s.sleep, RequestTimeout: 200 * time.Millisecond}
			tok, err := c.Exchange(t.Context(), passwordRequest(fs.TokenURL(), "params"))
			if err != nil {
				t.Fatalf("Exchange: %v", err)
			}
			if tok.AccessToken == "" || fs.Count("password") != 2 || len(s.got()) != 1 {
				t.Errorf("%d requests, %d waits; want a token after 2 requests and 1 wait", fs.Count("password"), len(s.got()))
			}
		})
	}
}

// TestExchangeHangEndsWithinTimeout: a hanging endpoint ends the exchange when
// Client.Timeout runs out, as a transient failure.
func TestExchangeHangEndsWithinTimeout(t *testing.T) {
	fs := newFake(t, fakeserver.Options{})
	fs.Fail(fakeserver.Fault{Hang: true})
	c := &Client{Timeout: 200 * time.Millisecond} // real sleeps: nothing to retry in time
	_, err := c.Exchange(t.Context(), passwordRequest(fs.TokenURL(), "params"))
	var te *TransientError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("error %v, want a TransientError saying timeout", err)
	}
}

func TestExchangeContextCanceled(t *testing.T) {
	fs := newFake(t, fakeserver.Options{})
	fs.Fail(fakeserver.Fault{Hang: true})
	ctx, cancel := context.WithCancel(t.Context())
	c := &Client{Sleep: func(context.Context, time.Duration) error { t.Error("retried after cancel"); return errStop }}
	go func() {
		for fs.PendingFaults() != 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := c.Exchange(ctx, passwordRequest(fs.TokenURL(), "params"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestEndpointErrorFields(t *testing.T) {
	tests := []struct {
		fixture    string
		status     int
		code       string
		desc       string
		concurCode int
		message    string
		geo        string
	}{
		{"concur_error_invalid_grant_code5.json", 400, "invalid_grant", "Incorrect Credentials. Please Retry", 5, "", "https://us.api.concursolutions.com"},
		{"concur_error_code108.json", 400, "invalid_grant", "Refresh token is invalid or expired", 108, "", "https://us.api.concursolutions.com"},
		{"concur_error_code16_geolocation.json", 400, "invalid_request", "user lives elsewhere", 16, "", "https://emea.api.concursolutions.com"},
		{"concur_error_invalid_client_code59.json", 401, "invalid_client", "client disabled", 59, "", "https://us.api.concursolutions.com"},
		{"keycloak_error_not_active.json", 400, "invalid_grant", "Token is not active", 0, "", ""},
		{"bakrypt_error_invalid_grant.json", 400, "invalid_grant", "Invalid refresh token.", 0, "", ""},
		{"kore_error_code_message.json", 400, "", "", -1, "Invalid grant_type parameter value", ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			rec := newRecorder(t, reply{status: tt.status, body: string(fixture(t, "responses/"+tt.fixture)),
				header: http.Header{"Concur-Correlationid": {"corr-123"}}})
			req := passwordRequest(rec.tokenURL(), "params")
			_, err := (&Client{Sleep: noRetry}).Exchange(t.Context(), req)
			var ee *EndpointError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want an *EndpointError", err)
			}
			if ee.Status != tt.status || ee.Code != tt.code || ee.Description != tt.desc || ee.Message != tt.message || ee.Geolocation != tt.geo {
				t.Errorf("got status %d code %q desc %q message %q geo %q; want %d %q %q %q %q",
					ee.Status, ee.Code, ee.Description, ee.Message, ee.Geolocation, tt.status, tt.code, tt.desc, tt.message, tt.geo)
			}
			if tt.concurCode >= 0 && ee.ProviderCode != tt.concurCode {
				t.Errorf("ProviderCode = %d, want %d", ee.ProviderCode, tt.concurCode)
			}
			if ee.URL != req.URL || ee.CorrelationID != "corr-123" {
				t.Errorf("URL, CorrelationID = %q, %q; want %q, corr-123", ee.URL, ee.CorrelationID, req.URL)
			}
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) {
				t.Fatal("errors.As(*oauth2.RetrieveError) = false")
			}
			if re.ErrorCode != tt.code || re.ErrorDescription != tt.desc || re.Response == nil || re.Response.StatusCode != tt.status {
				t.Errorf("RetrieveError code %q desc %q; want %q %q with the response", re.ErrorCode, re.ErrorDescription, tt.code, tt.desc)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "refresh: token endpoint "+req.URL) || !strings.Contains(msg, fmt.Sprint(tt.status)) {
				t.Errorf("Error() = %q, want the URL and the status", msg)
			}
			if tt.code != "" && !strings.Contains(msg, tt.code) {
				t.Errorf("Error() = %q, want the code %q", msg, tt.code)
			}
			assertNoSecrets(t, "Error()", msg)
		})
	}
}

// assertNoSecrets fails if s holds a test secret; it never prints s's secret part.
func assertNoSecrets(t *testing.T, what, s string, more ...string) {
	t.Helper()
	for _, secret := range append([]string{testClientSecret, testRequestToken}, more...) {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%s contains a secret (%d characters)", what, len(secret))
		}
	}
}

// TestEndpointErrorNeverHoldsSecrets: no refusal message carries the client
// secret, the request token, or tokens; in particular the body is never echoed.
func TestEndpointErrorNeverHoldsSecrets(t *testing.T) {
	const rt = "fake-refresh-token-SECRET"
	bodies := []reply{
		{status: 400, body: `{"error":"invalid_grant","error_description":"bad grant"}`},
		{status: 401, body: `{"error":"invalid_client"}`},
		{status: 400, body: `not json, raw echo: ` + testClientSecret + " " + rt},
		{status: 400, body: `<html>` + testClientSecret + `</html>`, header: http.Header{"Content-Type": {"text/html"}}},
		{status: 200, body: `{"error":"access_denied","access_token_hint":"` + rt + `"}`},
		{status: 503, body: `{"echo":"` + testClientSecret + `"}`},
		{status: 200, body: `{"access_token":"` + rt + "\\u0000" + `","expires_in":"never"}`},
	}
	for i, b := range bodies {
		t.Run(fmt.Sprint(i, " ", b.status), func(t *testing.T) {
			rec := newRecorder(t, b)
			req := passwordRequest(rec.tokenURL(), "params")
			req.Form.Set("refresh_token", rt)
			_, err := (&Client{Sleep: noRetry}).Exchange(t.Context(), req)
			if err == nil {
				t.Fatal("Exchange succeeded, want an error")
			}
			assertNoSecrets(t, "error", err.Error(), rt)
		})
	}
}

// TestEndpointErrorScrubsEchoedRefreshToken: some servers (Spring Security OAuth:
// "Invalid refresh token: <token>") echo the refresh token in error_description,
// which Error() prints; the token sent must be masked there.
func TestEndpointErrorScrubsEchoedRefreshToken(t *testing.T) {
	const rt = "fake-refresh-token-SECRET-0001"
	rec := newRecorder(t, reply{status: 400, body: `{"error":"invalid_grant","error_description":"Invalid refresh token: ` + rt + `"}`})
	req := Request{URL: rec.tokenURL(), Form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}},
		ClientID: testClientID, ClientSecret: testClientSecret}
	_, err := (&Client{Sleep: noRetry}).Exchange(t.Context(), req)
	if err == nil {
		t.Fatal("Exchange succeeded, want an error")
	}
	assertNoSecrets(t, "EndpointError.Error()", err.Error(), rt)
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-3", 0},
		{" 12 ", 12 * time.Second},
		{"999999", time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
		{"tomorrow", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(http.Header{"Retry-After": {tt.value}}, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestBasicAuthEncoding(t *testing.T) {
	// The server side of the header test above, checked by hand once: the
	// Authorization header is Basic base64(escape(id):escape(secret)).
	rec := newRecorder(t, okReply(t))
	req := Request{URL: rec.tokenURL(), Form: url.Values{"grant_type": {"client_credentials"}}, ClientID: "a b", ClientSecret: "c:d", AuthStyle: "header"}
	if _, err := (&Client{Sleep: noRetry}).Exchange(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("a+b:c%3Ad"))
	if auth := rec.requests()[0].auth; auth != want {
		t.Error("Authorization header differs from Basic base64(escape(id):escape(secret))")
	}
}

func httptestServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

// TestEndpointErrorShowsBody: an error answer in no known format shows its text
// (sanitised, capped, without the request's secrets), not only its length:
// a 404 from a wrong tokenURL says so in its body.
func TestEndpointErrorShowsBody(t *testing.T) {
	const rt = "fake-refresh-token-SECRET-0002"
	tests := []struct {
		name       string
		reply      reply
		want, deny []string
	}{
		{"404 text", reply{status: 404, body: "Realm does not exist\n"}, []string{"404", "Realm does not exist"}, nil},
		{"404 json", reply{status: 404, body: `{"detail":"Not Found"}`, header: http.Header{"Content-Type": {"application/json"}}},
			[]string{`{"detail":"Not Found"}`}, nil},
		{"capped", reply{status: 404, body: strings.Repeat("x", 5000)}, []string{strings.Repeat("x", 150) + "…"}, []string{strings.Repeat("x", 300)}},
		{"control characters", reply{status: 400, body: "bad\x1b[31m red\x00"}, []string{"bad [31m red"}, []string{"\x1b", "\x00"}},
		{"echoed secret", reply{status: 404, body: "no route for refresh_token=" + rt + " secret " + testClientSecret}, []string{"no route for refresh_token="}, nil},
		{"html", reply{status: 404, body: "<html><body>Realm does not exist</body></html>", header: http.Header{"Content-Type": {"text/html"}}},
			[]string{"an HTML page"}, []string{"Realm does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(t, tt.reply)
			req := passwordRequest(rec.tokenURL(), "params")
			req.Form.Set("refresh_token", rt)
			_, err := (&Client{Sleep: noRetry}).Exchange(t.Context(), req)
			if err == nil {
				t.Fatal("Exchange succeeded, want an error")
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Error() = %q, want it to hold %q", msg, w)
				}
			}
			for _, d := range tt.deny {
				if strings.Contains(msg, d) {
					t.Errorf("Error() = %q, want it without %q", msg, d)
				}
			}
			assertNoSecrets(t, "Error()", msg, rt)
		})
	}
}

// TestExchangeGivingUpSaysAttempts: when retries run out, the error says how
// many attempts were made, and over how long (a silent 30-second retry
// reads like one failure).
func TestExchangeGivingUpSaysAttempts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	var retries int
	c := &Client{Timeout: time.Second, OnRetry: func(int, time.Duration, error) { retries++ }}
	_, err := c.Exchange(t.Context(), passwordRequest(srv.URL+"/token", "params"))
	var te *TransientError
	if !errors.As(err, &te) {
		t.Fatalf("Exchange: %v, want a *TransientError", err)
	}
	if te.Attempts != retries+1 || te.Attempts < 2 {
		t.Errorf("Attempts = %d after %d retries, want retries+1 and at least 2", te.Attempts, retries)
	}
	want := fmt.Sprintf("(gave up after %d attempts in ", te.Attempts)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Error() = %q, want it to hold %q", err.Error(), want)
	}
}

// TestUserAgent: UserAgent is sent as given; UserAgentFunc stands in when it
// is empty, and is asked at each request, not before (a run that sends
// nothing never looks its version up).
func TestUserAgent(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("User-Agent"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":60}`))
	}))
	defer srv.Close()
	asked := 0
	req := Request{URL: srv.URL, Form: url.Values{"grant_type": {"client_credentials"}}, ClientID: "id", ClientSecret: "s"}
	for _, c := range []*Client{
		{Sleep: noRetry, UserAgent: "given/1"},
		{Sleep: noRetry, UserAgentFunc: func() string { asked++; return "lazy/2" }},
		{Sleep: noRetry, UserAgent: "given/3", UserAgentFunc: func() string { asked++; return "unused" }},
	} {
		if _, err := c.Exchange(t.Context(), req); err != nil {
			t.Fatalf("Exchange: %v", err)
		}
	}
	if want := []string{"given/1", "lazy/2", "given/3"}; !reflect.DeepEqual(got, want) || asked != 1 {
		t.Errorf("User-Agent %q, UserAgentFunc asked %d times; want %q and once", got, asked, want)
	}
}

// A revocation attempt that hangs is given up after the request timeout and
// tried again, as a token request is (one retry loop, retry): it does not
// use up the whole Timeout alone.
func TestRevokeRetriesAHungAttempt(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	defer close(release)
	c := &Client{Timeout: 5 * time.Second, RequestTimeout: 100 * time.Millisecond,
		Sleep: func(context.Context, time.Duration) error { return nil }}
	cfg := LoginConfig{Endpoints: Endpoints{Revocation: srv.URL + "/revoke"}, ClientID: "app"}
	if err := c.Revoke(context.Background(), cfg, "fake-refresh", ""); err != nil || calls.Load() != 2 {
		t.Fatalf("Revoke: %v after %d attempts; want success on the second", err, calls.Load())
	}
}

// A failure at the revocation or the device authorization endpoint names that
// endpoint, not the token endpoint.
func TestFormEndpointsNamedInErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
	}))
	defer srv.Close()
	c := &Client{Timeout: time.Second}
	cfg := LoginConfig{Endpoints: Endpoints{Revocation: srv.URL + "/revoke", DeviceAuthorization: srv.URL + "/device", Token: srv.URL + "/token"}, ClientID: "app"}
	if err := c.Revoke(context.Background(), cfg, "fake-refresh", ""); err == nil || !strings.Contains(err.Error(), "revocation endpoint "+srv.URL) {
		t.Errorf("Revoke: %v; want an error naming the revocation endpoint", err)
	}
	if _, err := c.Device(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "device authorization endpoint "+srv.URL) {
		t.Errorf("Device: %v; want an error naming the device authorization endpoint", err)
	}
}

// A 200 that is no token says why in the parser's words, once: "not a token
// (…)" with no package name inside the parentheses.
func TestHandleResponseNotAToken(t *testing.T) {
	for _, tt := range []struct{ contentType, body, want string }{
		{"application/json", `{"token_type":"Bearer"}`, "not a token (token response has no access_token)"},
		{"text/plain", `hello`, `not a token (token response is not a JSON object (content type "text/plain"))`},
	} {
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {tt.contentType}}}
		_, err := handleResponse("https://x.example/token", resp, []byte(tt.body), time.Now(), nil)
		if err == nil || !strings.HasSuffix(err.Error(), ": "+tt.want) {
			t.Errorf("%s: got %v, want it to end %q", tt.body, err, tt.want)
		}
	}
}
