package refresh

// Faults of the network and the token endpoint (docs/contract.md §2 steps 5 and 7, §5), each
// against a real HTTP server: what is retried, what is not, what it ends in, and
// that the stored token survives. Names here start with "fault"/"ft" so that they
// cannot collide with the other test files of the package.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeclock"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

const (
	ftClientID     = "fault-app-id"
	ftClientSecret = "fault-client-secret-7c1e"
	ftCompanyUUID  = "fault-company-uuid"
	ftRequestToken = "fault-request-token-42aa"
)

// ftSecrets are the values no message may hold.
var ftSecrets = []string{ftClientSecret, ftRequestToken}

// ftSleeper replaces the client's waits: it records them and, after limit
// waits, gives up as a deadline would, so that a persistent fault ends fast.
type ftSleeper struct {
	mu    sync.Mutex
	waits []time.Duration
	limit int
}

func (s *ftSleeper) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	if s.limit > 0 && len(s.waits) >= s.limit {
		return context.DeadlineExceeded
	}
	return nil
}

func (s *ftSleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// ftClient is a client whose waits are recorded, not slept; attempts are bounded
// by the sleeper's limit and a per-attempt timeout short enough for hangs.
func ftClient(s *ftSleeper) *Client {
	return &Client{Sleep: s.sleep, Timeout: time.Minute, RequestTimeout: 500 * time.Millisecond}
}

func ftFake(t *testing.T, o fakeserver.Options) *fakeserver.Server {
	t.Helper()
	o.ClientID, o.ClientSecret = ftClientID, ftClientSecret
	o.CompanyUUID, o.RequestToken = ftCompanyUUID, ftRequestToken
	s := fakeserver.New(o)
	t.Cleanup(s.Close)
	return s
}

func ftPasswordRequest(u string) Request {
	return Request{URL: u, ClientID: ftClientID, ClientSecret: ftClientSecret, AuthStyle: "params",
		Form: map[string][]string{"grant_type": {"password"}, "username": {ftCompanyUUID}, "password": {ftRequestToken}, "credtype": {"authtoken"}}}
}

func ftNoSecrets(t *testing.T, what, s string, more ...string) {
	t.Helper()
	for _, secret := range append(append([]string(nil), ftSecrets...), more...) {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%s holds a secret (%d characters long)", what, len(secret))
		}
	}
}

// TestFaultTransientRetried: every transient fault of docs/contract.md §2 step 7 is retried,
// and the next good answer is the result.
func TestFaultTransientRetried(t *testing.T) {
	html := fakeserver.Fault{Status: 200, Body: fakeserver.ProxyErrorHTML}
	tests := []struct {
		name   string
		faults []fakeserver.Fault
		first  time.Duration // when set, the first wait must be exactly this (Retry-After)
	}{
		{"two 503s", []fakeserver.Fault{{Status: 503}, {Status: 503}}, 0},
		{"429 with Retry-After seconds", []fakeserver.Fault{{Status: 429, Header: http.Header{"Retry-After": {"7"}}}}, 7 * time.Second},
		{"500 concur message", []fakeserver.Fault{{Status: 500, Body: `{"error":"server_error","error_description":"try later"}`}}, 0},
		{"502 html", []fakeserver.Fault{{Status: 502, Body: fakeserver.ProxyErrorHTML}}, 0},
		{"connection reset", []fakeserver.Fault{{Reset: true}}, 0},
		{"hang", []fakeserver.Fault{{Hang: true}}, 0},
		{"html with 200", []fakeserver.Fault{html}, 0},
		{"200 without access_token", []fakeserver.Fault{{Status: 200, Body: `{"token_type":"Bearer","expires_in":3600}`}}, 0},
		{"200 access_token a number", []fakeserver.Fault{{Status: 200, Body: `{"access_token":12345,"expires_in":3600}`}}, 0},
		{"200 access_token with a space", []fakeserver.Fault{{Status: 200, Body: `{"access_token":"x fake","expires_in":3600}`}}, 0},
		{"200 empty", []fakeserver.Fault{{Status: 200, Body: " ", ContentType: "application/json"}}, 0},
		{"10 MB body", []fakeserver.Fault{{HugeBody: 10 << 20}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := ftFake(t, fakeserver.Options{})
			for _, f := range tt.faults {
				fs.Fail(f)
			}
			s := &ftSleeper{limit: 10}
			c := ftClient(s)
			var retryErrs []string
			c.OnRetry = func(_ int, _ time.Duration, err error) { retryErrs = append(retryErrs, err.Error()) }
			tok, err := c.Exchange(t.Context(), ftPasswordRequest(fs.TokenURL()))
			if err != nil {
				t.Fatalf("Exchange: %v, want a token after the fault", err)
			}
			if !strings.HasPrefix(tok.AccessToken, "at-") {
				t.Errorf("access token %.4s…, want one the fake issued (at-…)", tok.AccessToken)
			}
			if got, want := fs.Count("password"), len(tt.faults)+1; got != want {
				t.Errorf("%d requests, want %d", got, want)
			}
			waits := s.got()
			if len(waits) != len(tt.faults) {
				t.Fatalf("%d waits, want %d", len(waits), len(tt.faults))
			}
			if tt.first != 0 && waits[0] != tt.first {
				t.Errorf("first wait %v, want %v (Retry-After)", waits[0], tt.first)
			}
			for _, e := range retryErrs {
				ftNoSecrets(t, "retry error", e)
			}
		})
	}
}

// TestFaultRetryAfterDate: an HTTP-date Retry-After is waited for, to the second.
func TestFaultRetryAfterDate(t *testing.T) {
	fs := ftFake(t, fakeserver.Options{})
	at := time.Now().Add(2 * time.Minute).UTC().Truncate(time.Second)
	fs.Fail(fakeserver.Fault{Status: 429, Header: http.Header{"Retry-After": {at.Format(http.TimeFormat)}}})
	s := &ftSleeper{limit: 5}
	c := ftClient(s)
	c.Timeout = time.Hour
	if _, err := c.Exchange(t.Context(), ftPasswordRequest(fs.TokenURL())); err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if w := s.got(); len(w) != 1 || w[0] < time.Minute || w[0] > 2*time.Minute {
		t.Errorf("waits %v, want one of about 2m (the Retry-After date)", w)
	}
}

// TestFaultRefusalsNotRetried: a 4xx other than 408 and 429 (and an unfollowed 3xx) is an
// answer, not a fault: one request, no wait.
func TestFaultRefusalsNotRetried(t *testing.T) {
	for _, status := range []int{300, 400, 401, 403, 404, 405, 409, 410, 413, 418, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			fs := ftFake(t, fakeserver.Options{})
			fs.Fail(fakeserver.Fault{Status: status, Body: `{"error":"some_error","error_description":"no"}`})
			s := &ftSleeper{limit: 5}
			_, err := ftClient(s).Exchange(t.Context(), ftPasswordRequest(fs.TokenURL()))
			var ee *EndpointError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want an *EndpointError", err)
			}
			if n, w := fs.Count(""), len(s.got()); n != 1 || w != 0 {
				t.Errorf("%d requests, %d waits; want 1, 0", n, w)
			}
		})
	}
}

// TestFaultGivesUpWithinBound: with real waits, a persistent failure ends in a
// *TransientError once the total bound is spent, after more than one attempt.
func TestFaultGivesUpWithinBound(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	refused := closedPort(t)
	for name, u := range map[string]string{"503 forever": down.URL + "/token", "connection refused": refused} {
		t.Run(name, func(t *testing.T) {
			c := &Client{Timeout: 1500 * time.Millisecond}
			attempts := 0
			c.OnRetry = func(int, time.Duration, error) { attempts++ }
			_, err := c.Exchange(t.Context(), ftPasswordRequest(u))
			var te *TransientError
			if !errors.As(err, &te) {
				t.Fatalf("error %v, want a *TransientError", err)
			}
			if attempts < 1 {
				t.Errorf("%d retries, want at least 1 within the bound", attempts)
			}
			ftNoSecrets(t, "error", err.Error())
		})
	}
}

// closedPort is a loopback URL where nothing listens: connection refused.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String() + "/token"
	l.Close()
	return u
}

// TestFaultHugeBodyBoundedMemory: a 100 MB answer, with and without a
// Content-Length, is refused after 1 MiB and never held in memory.
func TestFaultHugeBodyBoundedMemory(t *testing.T) {
	const size = 100 << 20
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	for _, withLength := range []bool{true, false} {
		t.Run(fmt.Sprintf("content-length=%v", withLength), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if withLength {
					w.Header().Set("Content-Length", fmt.Sprint(size))
				}
				io.WriteString(w, `{"access_token":"`)
				for left := size - 17; left > 0; left -= len(chunk) {
					if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
						return
					}
				}
			}))
			defer srv.Close()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			c := &Client{Sleep: func(context.Context, time.Duration) error { return context.DeadlineExceeded }}
			_, err := c.Exchange(t.Context(), ftPasswordRequest(srv.URL+"/token"))
			runtime.ReadMemStats(&after)
			var te *TransientError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), "1 MiB") {
				t.Fatalf("error %v, want a *TransientError naming the 1 MiB cap", err)
			}
			// Allocation by the whole process, the server's included: far below
			// the body's size means the body was never read whole.
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d KiB in all for a %d MiB answer", alloc>>10, size>>20)
			if alloc > 16<<20 {
				t.Errorf("allocated %d MiB for a %d MiB answer, want a bound near the 1 MiB cap", alloc>>20, size>>20)
			}
		})
	}
}

// ftEndpoint is a fake token endpoint that can be taken down: while down, every
// request gets a 503, as in an outage behind a load balancer.
type ftEndpoint struct {
	*fakeserver.Server
	down atomic.Bool
	seen atomic.Int64 // requests, those answered 503 included
}

func newFtEndpoint(t *testing.T, o fakeserver.Options) *ftEndpoint {
	t.Helper()
	e := &ftEndpoint{}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.seen.Add(1)
		if e.down.Load() {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		e.Server.ServeHTTP(w, r)
	}))
	o.ClientID, o.ClientSecret = ftClientID, ftClientSecret
	o.CompanyUUID, o.RequestToken = ftCompanyUUID, ftRequestToken
	o.BaseURL = "http://" + ts.Listener.Addr().String()
	e.Server = fakeserver.NewHandler(o)
	ts.Start()
	t.Cleanup(func() { e.Server.Close(); ts.Close() })
	return e
}

func ftManager(t *testing.T, tokenURL, grant string, s *ftSleeper, clock *fakeclock.Clock) *Manager {
	t.Helper()
	dir := tempDir(t)
	c := FakeCreds(tokenURL, grant, filepath.Join(dir, "credentials.json"), FakeIDs{ftClientID, ftClientSecret, ftCompanyUUID, ftRequestToken})
	if grant == credentials.GrantRefreshToken {
		c.RefreshToken = "fault-seed-refresh-token-5b5b"
	}
	cl := ftClient(s)
	m := testManager(c, storage.Paths{Profile: "default", TokenFile: filepath.Join(dir, "refreshTokenObjectFile.json"), LockFile: filepath.Join(dir, "refreshTokenObjectFile.json.lock")},
		nil, cl)
	if clock != nil {
		m.Clock, cl.Clock = clock, clock
	}
	return m
}

func ftReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFaultOutage: renewal fails for a while. With a still-valid access token the
// run hands it out with a warning; with an expired one it is a temporary failure.
// Either way the token file is untouched.
func TestFaultOutage(t *testing.T) {
	for _, expired := range []bool{false, true} {
		t.Run(fmt.Sprintf("expired=%v", expired), func(t *testing.T) {
			ep := newFtEndpoint(t, fakeserver.Options{})
			clock := fakeclock.New(time.Now())
			s := &ftSleeper{limit: 3}
			m := ftManager(t, ep.TokenURL(), credentials.GrantPassword, s, clock)
			if _, err := m.Ensure(t.Context(), Options{}); err != nil {
				t.Fatalf("first Ensure: %v", err)
			}
			before := ftReadFile(t, m.Paths.TokenFile)
			ep.down.Store(true)
			o := Options{Force: true}
			if expired {
				clock.Add(2 * time.Hour) // past the fake's one-hour access token
				o = Options{}
			}
			seen := ep.seen.Load()
			r, err := m.Ensure(t.Context(), o)
			if n := ep.seen.Load() - seen; n != 3 {
				t.Errorf("%d requests during the outage, want 3 (the sleeper's limit)", n)
			}
			if expired {
				if KindOf(err) != KindTemporary {
					t.Fatalf("Ensure: %v (kind %v), want KindTemporary", err, KindOf(err))
				}
				if NextOf(err) != NextLater {
					t.Errorf("then %v, want NextLater (run again later)", NextOf(err))
				}
			} else {
				if err != nil || r.Action != ActionKept {
					t.Fatalf("Ensure: %v, %+v; want ActionKept", err, r)
				}
				if len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "could not renew") || !strings.Contains(r.Warnings[0], "valid until") {
					t.Errorf("warnings %q, want one saying the renewal failed and until when the token is valid", r.Warnings)
				}
			}
			if !bytes.Equal(before, ftReadFile(t, m.Paths.TokenFile)) {
				t.Error("the token file changed during the outage")
			}
		})
	}
}

// ftReply is a token endpoint scripted per grant type; grants not listed get a
// Concur-style token.
type ftReply struct {
	status int
	body   string
}

func ftScripted(t *testing.T, replies map[string]ftReply) (string, *sync.Map) {
	t.Helper()
	var counts sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		g := r.PostForm.Get("grant_type")
		v, _ := counts.LoadOrStore(g, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		w.Header().Set("Content-Type", "application/json")
		rep, ok := replies[g]
		if !ok {
			io.WriteString(w, `{"access_token":"fault-at-new","token_type":"Bearer","expires_in":"3600","refresh_token":"fault-rt-new","refresh_expires_in":4102444800}`)
			return
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/oauth2/v0/token", &counts
}

func ftCount(c *sync.Map, grant string) int64 {
	if v, ok := c.Load(grant); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// ftExpiredToken writes a token file whose access token has expired and whose
// refresh token has not.
func ftExpiredToken(t *testing.T, m *Manager, rt string) {
	t.Helper()
	now := time.Now().UTC()
	body := fmt.Sprintf(`{"access_token":"fault-at-old-1234","refresh_token":%q,"obtained_at":%q,"expires_at":%q,"refresh_expires_at":%q,"token_url":%q}`,
		rt, now.Add(-2*time.Hour).Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339),
		now.Add(30*24*time.Hour).Format(time.RFC3339), m.Creds.TokenURL)
	if err := os.WriteFile(m.Paths.TokenFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// concurBody is a Concur error. Its geolocation is one tokenkeeper refuses to go
// to (http off loopback), so that code 16 never leaves the machine in a test.
func concurBody(errCode, desc string, code int) string {
	return fmt.Sprintf(`{"error":%q,"error_description":%q,"code":%d,"geolocation":"http://concur.example.com"}`, errCode, desc, code)
}

// TestFaultRefusals: what each refusal ends in (docs/contract.md §2 step 5, §3's exit codes)
// and that the hint says what to do in plain words. Every Concur code of
// docs/troubleshooting.md ("Concur's codes") is here.
func TestFaultRefusals(t *testing.T) {
	const storedRT = "fault-stored-refresh-token-77"
	tests := []struct {
		name    string
		grant   string
		stored  bool // an expired access token with a live refresh token on disk
		replies map[string]ftReply
		kind    Kind
		action  string   // on success
		hint    []string // in the hint, on failure
	}{
		{"invalid_grant on refresh bootstraps", credentials.GrantPassword, true,
			map[string]ftReply{"refresh_token": {400, `{"error":"invalid_grant","error_description":"Refresh token is invalid"}`}}, 0, ActionBootstrapped, nil},
		{"code 108 on refresh bootstraps", credentials.GrantPassword, true,
			map[string]ftReply{"refresh_token": {400, concurBody("invalid_grant", "Refresh token is invalid or expired", 108)}}, 0, ActionBootstrapped, nil},
		{"invalid_grant on bootstrap: new request token", credentials.GrantPassword, false,
			map[string]ftReply{"password": {400, `{"error":"invalid_grant"}`}}, KindNeedsHuman, "", []string{"Company Request Token screen", "companyRequestToken", "credentials.json"}},
		{"invalid_grant on refresh_token seed", credentials.GrantRefreshToken, false,
			map[string]ftReply{"refresh_token": {400, `{"error":"invalid_grant","error_description":"Token is not active"}`}}, KindNeedsHuman, "", []string{"new refresh token", "refreshToken"}},
		{"invalid_client", credentials.GrantPassword, false,
			map[string]ftReply{"password": {401, `{"error":"invalid_client"}`}}, KindCredentials, "", []string{"appID", "clientSecret"}},
		{"unauthorized_client", credentials.GrantClientCredentials, false,
			map[string]ftReply{"client_credentials": {400, `{"error":"unauthorized_client"}`}}, KindCredentials, "", []string{"appID", "clientSecret"}},
		{"bare 401", credentials.GrantClientCredentials, false,
			map[string]ftReply{"client_credentials": {401, `Unauthorized`}}, KindCredentials, "", []string{"appID", "clientSecret"}},
		{"invalid_scope", credentials.GrantClientCredentials, false,
			map[string]ftReply{"client_credentials": {400, `{"error":"invalid_scope"}`}}, KindCredentials, "", []string{"scope"}},
		{"unsupported_grant_type", credentials.GrantClientCredentials, false,
			map[string]ftReply{"client_credentials": {400, `{"error":"unsupported_grant_type"}`}}, KindCredentials, "", []string{"grantType"}},
		{"404: wrong tokenURL", credentials.GrantClientCredentials, false,
			map[string]ftReply{"client_credentials": {404, `<html>not found</html>`}}, KindCredentials, "", []string{"tokenURL"}},
		{"KORE code and message", credentials.GrantClientCredentials, false,
			map[string]ftReply{"client_credentials": {400, `{"code":400,"message":"Invalid grant_type parameter value"}`}}, KindCredentials, "", []string{"credentials.json"}},
	}
	for code, c := range map[int]struct {
		status int
		err    string
		kind   Kind
		hint   []string
	}{
		5:   {400, "invalid_grant", KindNeedsHuman, []string{"Company Request Token screen", "companyRequestToken"}},
		14:  {400, "invalid_grant", KindNeedsHuman, []string{"locked", "administrator"}},
		16:  {400, "invalid_request", KindCredentials, []string{"another Concur data centre", "tokenURL"}},
		19:  {400, "invalid_grant", KindNeedsHuman, []string{"Company Request Token screen", "companyRequestToken"}},
		53:  {401, "unauthorized_client", KindCredentials, []string{"administrator", "enable"}},
		59:  {401, "invalid_client", KindCredentials, []string{"appID", "clientSecret", "credentials.json and"}},
		64:  {400, "invalid_grant", KindNeedsHuman, []string{"Company Request Token screen", "expired"}},
		106: {400, "invalid_request", KindUnexpected, []string{"bug", "report"}},
		107: {400, "unauthorized_client", KindCredentials, []string{"grant settings"}},
		108: {400, "invalid_grant", KindNeedsHuman, []string{"Company Request Token screen", "companyRequestToken"}},
		120: {400, "invalid_request", KindCredentials, []string{"credentialType", "authtoken"}},
	} {
		tests = append(tests, struct {
			name    string
			grant   string
			stored  bool
			replies map[string]ftReply
			kind    Kind
			action  string
			hint    []string
		}{fmt.Sprintf("concur code %d on bootstrap", code), credentials.GrantPassword, false,
			map[string]ftReply{"password": {c.status, concurBody(c.err, "refused", code)}}, c.kind, "", c.hint})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, counts := ftScripted(t, tt.replies)
			m := ftManager(t, u, tt.grant, &ftSleeper{limit: 3}, nil)
			var before []byte
			if tt.stored {
				ftExpiredToken(t, m, storedRT)
				before = ftReadFile(t, m.Paths.TokenFile)
			}
			r, err := m.Ensure(t.Context(), Options{})
			if tt.action != "" {
				if err != nil || r.Action != tt.action {
					t.Fatalf("Ensure: %v; want %s", err, tt.action)
				}
				return
			}
			if err == nil {
				t.Fatalf("Ensure succeeded (%s), want kind %v", r.Action, tt.kind)
			}
			if KindOf(err) != tt.kind {
				t.Errorf("kind %v, want %v (error %v)", KindOf(err), tt.kind, err)
			}
			hint := HintOf(err)
			if strings.Contains(hint, "credentials.json") && !strings.Contains(hint, m.Creds.Path) {
				t.Errorf("hint %q names credentials.json without its path", hint)
			}
			for _, want := range tt.hint {
				if !strings.Contains(hint, want) {
					t.Errorf("hint %q, want it to contain %q", hint, want)
				}
			}
			for g := range tt.replies {
				if n := ftCount(counts, g); n != 1 {
					t.Errorf("%d %s requests, want 1: a refusal is not retried", n, g)
				}
			}
			ftNoSecrets(t, "error and hint", err.Error()+hint, storedRT)
			ftRemembered(t, m, tt.stored, before, err, counts)
		})
	}
}

// TestFaultProviderCode16: "the user lives elsewhere" is retried once at the
// geolocation the answer names, and only once.
func TestFaultProviderCode16(t *testing.T) {
	elsewhere := func(geo string) map[string]ftReply {
		return map[string]ftReply{"password": {400, fmt.Sprintf(`{"error":"invalid_request","error_description":"user lives elsewhere","code":16,"geolocation":%q}`, geo)}}
	}
	t.Run("retried at the geolocation", func(t *testing.T) {
		home := ftFake(t, fakeserver.Options{})
		u, counts := ftScripted(t, elsewhere(home.URL()))
		m := ftManager(t, u, credentials.GrantPassword, &ftSleeper{limit: 3}, nil)
		r, err := m.Ensure(t.Context(), Options{})
		if err != nil {
			t.Fatalf("Ensure: %v", err)
		}
		if ftCount(counts, "password") != 1 || home.Count("password") != 1 {
			t.Errorf("requests: %d first, %d at the geolocation; want 1, 1", ftCount(counts, "password"), home.Count("password"))
		}
		if r.Token.Geolocation != home.URL() {
			t.Errorf("geolocation %q, want %q", r.Token.Geolocation, home.URL())
		}
		// Refreshes go to the user's data centre from now on.
		if _, err := m.Ensure(t.Context(), Options{Force: true}); err != nil || home.Count("refresh_token") != 1 {
			t.Errorf("refresh: %v, %d refresh requests at the geolocation; want 1", err, home.Count("refresh_token"))
		}
	})
	t.Run("geolocation stored when the answer has none", func(t *testing.T) {
		homeURL, _ := ftScripted(t, nil) // its tokens carry no geolocation
		home := strings.TrimSuffix(homeURL, "/oauth2/v0/token")
		u, _ := ftScripted(t, elsewhere(home))
		m := ftManager(t, u, credentials.GrantPassword, &ftSleeper{limit: 3}, nil)
		if _, err := m.Ensure(t.Context(), Options{}); err != nil {
			t.Fatalf("Ensure: %v", err)
		}
		stored, err := m.Load()
		if err != nil || stored.Geolocation != home {
			t.Errorf("stored geolocation %q (%v), want %q", stored.Geolocation, err, home)
		}
	})
	t.Run("only once", func(t *testing.T) {
		third := ftFake(t, fakeserver.Options{})
		second, counts2 := ftScripted(t, elsewhere(third.URL()))
		first, counts1 := ftScripted(t, elsewhere(strings.TrimSuffix(second, "/oauth2/v0/token")))
		m := ftManager(t, first, credentials.GrantPassword, &ftSleeper{limit: 3}, nil)
		_, err := m.Ensure(t.Context(), Options{})
		if KindOf(err) != KindCredentials || !strings.Contains(HintOf(err), "tokenURL") {
			t.Errorf("Ensure: %v (kind %v, hint %q); want KindCredentials naming tokenURL", err, KindOf(err), HintOf(err))
		}
		if ftCount(counts1, "password") != 1 || ftCount(counts2, "password") != 1 || third.Count("") != 0 {
			t.Errorf("requests %d, %d, %d; want 1, 1, 0", ftCount(counts1, "password"), ftCount(counts2, "password"), third.Count(""))
		}
	})
	t.Run("http geolocation off loopback is not followed", func(t *testing.T) {
		u, counts := ftScripted(t, elsewhere("http://concur.example.com"))
		m := ftManager(t, u, credentials.GrantPassword, &ftSleeper{limit: 3}, nil)
		_, err := m.Ensure(t.Context(), Options{})
		if KindOf(err) != KindCredentials || ftCount(counts, "password") != 1 {
			t.Errorf("Ensure: %v (kind %v), %d requests; want KindCredentials after 1", err, KindOf(err), ftCount(counts, "password"))
		}
	})
}

// TestFaultRedirectOtherHost: a token endpoint that redirects to another host
// (another port is another origin) does not get the credentials replayed there.
func TestFaultRedirectOtherHost(t *testing.T) {
	var other atomic.Int64
	second := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.Add(1)
		io.WriteString(w, `{"access_token":"fault-stolen","expires_in":3600}`)
	}))
	defer second.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, second.URL+"/oauth2/v0/token", http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	m := ftManager(t, first.URL+"/oauth2/v0/token", credentials.GrantPassword, &ftSleeper{limit: 3}, nil)
	_, err := m.Ensure(t.Context(), Options{})
	if n := other.Load(); n != 0 {
		t.Fatalf("the other host got %d requests, want 0", n)
	}
	if KindOf(err) != KindCredentials || !strings.Contains(HintOf(err), "tokenURL") {
		t.Errorf("Ensure: %v (kind %v, hint %q); want KindCredentials naming tokenURL", err, KindOf(err), HintOf(err))
	}
	ftNoSecrets(t, "error", err.Error()+HintOf(err))
}

// TestFaultHostileText: what an endpoint says reaches a terminal only as one line
// of printable text, bounded, without anything the request carried.
func TestFaultHostileText(t *testing.T) {
	const rt = "fault-stored-refresh-token-echo"
	desc := "bad refresh token " + rt + " for client " + ftClientSecret + " \x1b[2J\x1b]0;pwned\x07 and\r\nmore " + strings.Repeat("x", 5000)
	body := fmt.Sprintf(`{"error":%q,"error_description":%q,"error_uri":"https://x.example/\u001b[31m","code":59}`, "invalid_client\x1b[31m"+strings.Repeat("y", 500), desc)
	// The secret straddles the point where a description is cut.
	cut := `{"error":"invalid_grant","error_description":"` + strings.Repeat("w", 290) + rt + `"}`
	for _, status := range []int{401, 503, 200} {
		for name, body := range map[string]string{"echo": body, "echo at the cut": cut} {
			t.Run(fmt.Sprint(status, name), func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Concur-Correlationid", "corr\x1b[0m"+strings.Repeat("z", 500))
					w.WriteHeader(status)
					io.WriteString(w, body)
				}))
				defer srv.Close()
				req := Request{URL: srv.URL + "/token?client_secret=" + ftClientSecret, ClientID: ftClientID, ClientSecret: ftClientSecret,
					Form: map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {rt}}}
				_, err := (&Client{Sleep: func(context.Context, time.Duration) error { return context.DeadlineExceeded }}).Exchange(t.Context(), req)
				if err == nil {
					t.Fatal("Exchange succeeded")
				}
				msg := err.Error()
				ftNoSecrets(t, "error", msg, rt)
				if strings.ContainsAny(msg, "\x1b\x07\r\n") {
					t.Errorf("error holds control characters: %q", msg)
				}
				if len(msg) > 1200 {
					t.Errorf("error is %d bytes long, want it bounded", len(msg))
				}
				if strings.Contains(msg, rt[:10]) {
					t.Errorf("error holds the start of the refresh token")
				}
			})
		}
	}
}

// ftRemembered checks what a refusal leaves: a record that remembers it (with
// the stored tokens as they were, and no secret), or, for a failure that is not a
// refusal, the file as it was; and a second run that sends nothing and fails the
// same way.
func ftRemembered(t *testing.T, m *Manager, stored bool, before []byte, first error, counts *sync.Map) {
	t.Helper()
	data, rerr := os.ReadFile(m.Paths.TokenFile)
	k := KindOf(first)
	switch {
	case k != KindNeedsHuman && k != KindCredentials:
		if stored && !bytes.Equal(before, data) || !stored && rerr == nil {
			t.Error("the token file changed after a failure that is no refusal")
		}
		return
	case rerr != nil:
		t.Fatalf("no token record remembers the refusal: %v", rerr)
	}
	rec, err := ParseFile(data)
	if err != nil || rec.Refusal == nil || rec.Refusal.Credentials != CredentialsFingerprint(m.Creds) {
		t.Fatalf("record %s: %v; want it to remember the refusal of these credentials", data, err)
	}
	if stored {
		old, _ := ParseFile(before)
		if rec.AccessToken != old.AccessToken || rec.RefreshToken != old.RefreshToken {
			t.Error("remembering the refusal changed the stored tokens")
		}
	}
	ftNoSecrets(t, "record", string(data), m.Creds.ClientSecret, m.Creds.CompanyRequestToken)
	seen := ftTotal(counts)
	_, err = m.Ensure(t.Context(), Options{Force: true})
	if ftTotal(counts) != seen {
		t.Errorf("the second run sent %d requests after a remembered refusal, want 0", ftTotal(counts)-seen)
	}
	var re *Error
	if err == nil || !strings.HasPrefix(err.Error(), first.Error()+" (refused at ") || HintOf(err) != HintOf(first) || KindOf(err) != k || !errors.As(err, &re) || !re.Retry {
		t.Errorf("second run: %v (hint %q); want the same as the first: %v (hint %q)", err, HintOf(err), first, HintOf(first))
	}
}

func ftTotal(c *sync.Map) int64 {
	var n int64
	c.Range(func(_, v any) bool { n += v.(*atomic.Int64).Load(); return true })
	return n
}
