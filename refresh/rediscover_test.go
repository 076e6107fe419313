package refresh_test

import (
	"context"
	"encoding/json"
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// movingIssuer is an issuer whose discovery document can change: its token
// endpoint is first /old/token, then /new/token; both lead to one rotating
// token endpoint, unless the old one is made to fail.
type movingIssuer struct {
	srv       *httptest.Server
	fake      *fakeserver.Server
	discovery atomic.Int32

	mu       sync.Mutex
	endpoint string                                       // what the document names
	old      func(w http.ResponseWriter, r *http.Request) // nil: /old/token works
}

func newMovingIssuer(t *testing.T) *movingIssuer {
	mi := &movingIssuer{}
	mi.srv = httptest.NewUnstartedServer(http.HandlerFunc(mi.serve))
	base := "http://" + mi.srv.Listener.Addr().String()
	mi.fake = fakeserver.NewHandler(fakeserver.Options{ClientID: "app", ClientSecret: "fake-secret", CompanyUUID: "uuid",
		RequestToken: "fake-crt", Style: fakeserver.StyleKeycloak, Rotate: true, BaseURL: base})
	mi.endpoint = base + "/old/token"
	mi.srv.Start()
	t.Cleanup(func() { mi.srv.Close(); mi.fake.Close() })
	return mi
}

func (mi *movingIssuer) serve(w http.ResponseWriter, r *http.Request) {
	mi.mu.Lock()
	endpoint, old := mi.endpoint, mi.old
	mi.mu.Unlock()
	switch {
	case r.URL.Path == "/.well-known/openid-configuration":
		mi.discovery.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": mi.issuer(), "token_endpoint": endpoint})
	case r.URL.Path == "/old/token" && old != nil:
		old(w, r)
	case r.URL.Path == "/old/token" || r.URL.Path == "/new/token":
		r.URL.Path = fakeserver.ShortTokenPath
		mi.fake.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (mi *movingIssuer) issuer() string { return "http://" + mi.srv.Listener.Addr().String() }

// move makes the document name to, and the old endpoint answer with old.
func (mi *movingIssuer) move(to string, old func(w http.ResponseWriter, r *http.Request)) {
	mi.mu.Lock()
	defer mi.mu.Unlock()
	mi.endpoint, mi.old = to, old
}

// TestRediscovery: a token endpoint found by discovery that fails as a moved
// one does (no connection, 404, 405) is looked up again, and the refresh is
// sent to the new one once, which the record then keeps; a redirect is looked
// up again but the refresh is not sent again (the first endpoint answered and
// may have used it); a refusal or a 5xx is no moved endpoint.
func TestRediscovery(t *testing.T) {
	status := func(code int) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", code) }
	}
	refused := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	}
	redirect := func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example.com/token", http.StatusPermanentRedirect)
	}
	closed := func(t *testing.T) string { // a loopback address nobody listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/token"
	}
	tests := []struct {
		name   string
		old    func(w http.ResponseWriter, r *http.Request)
		gone   bool  // the old endpoint is on a port nobody listens on
		moved  bool  // the document names the new endpoint
		resent bool  // the refresh is sent to the new endpoint
		reads  int32 // the document is read this many times
	}{
		{"connection refused", nil, true, true, true, 1},
		{"404", status(http.StatusNotFound), false, true, true, 1},
		{"405", status(http.StatusMethodNotAllowed), false, true, true, 1},
		{"404, document unchanged", status(http.StatusNotFound), false, false, false, 1},
		{"redirect refused", redirect, false, true, false, 1},
		// A refused refresh token is no moved endpoint: the run bootstraps,
		// and that reads the document (once: no rediscovery before it).
		{"invalid_grant", refused, false, true, false, 1},
		{"503", status(http.StatusServiceUnavailable), false, true, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mi := newMovingIssuer(t)
			dir := testfs.TempDir(t)
			m := movingManager(t, mi, dir)
			if _, err := m.Ensure(context.Background(), refresh.Options{}); err != nil {
				t.Fatalf("first grant: %v", err)
			}
			if tt.gone { // the endpoint the record names has gone away
				setTokenURL(t, m, closed(t))
			}
			m = movingManager(t, mi, dir) // a later run: a new process
			newURL := mi.issuer() + "/new/token"
			if tt.moved {
				mi.move(newURL, tt.old)
			} else {
				mi.move(mi.issuer()+"/old/token", tt.old)
			}
			before, refreshes := mi.discovery.Load(), mi.fake.Count("refresh_token")
			r, err := m.Ensure(context.Background(), refresh.Options{Force: true})
			if got := mi.discovery.Load() - before; got != tt.reads {
				t.Errorf("the discovery document was read %d more times, want %d", got, tt.reads)
			}
			sent := mi.fake.Count("refresh_token") - refreshes
			if !tt.resent {
				if sent != 0 {
					t.Errorf("the refresh token reached the endpoint %d times, want 0", sent)
				}
				if tt.old == nil || tt.name == "invalid_grant" {
					return
				}
				if disk, _ := m.Load(); disk.TokenURL == newURL {
					t.Errorf("the record moved to %s without a success there", newURL)
				}
				if tt.name == "redirect refused" && (err == nil || !strings.Contains(strings.Join(r.Warnings, "\n"), newURL)) {
					t.Errorf("got %v with warnings %q; want a failure whose warning names the endpoint the document names now", err, r.Warnings)
				}
				return
			}
			if err != nil || r.Action != refresh.ActionRefreshed || sent != 1 {
				t.Fatalf("got %+v, %v, %d refreshes; want one refresh at the new endpoint", r, err, sent)
			}
			disk, err := m.Load()
			if err != nil || disk.TokenURL != newURL {
				t.Fatalf("record token_url %q (%v), want %s", disk.TokenURL, err, newURL)
			}
			// The next run goes straight to the new endpoint.
			before = mi.discovery.Load()
			m = movingManager(t, mi, dir)
			if _, err := m.Ensure(context.Background(), refresh.Options{Force: true}); err != nil {
				t.Fatal(err)
			}
			if mi.discovery.Load() != before {
				t.Error("the next run read the discovery document again")
			}
		})
	}
}

// movingManager is a run of a password-grant profile of mi's issuer in dir.
func movingManager(t *testing.T, mi *movingIssuer, dir string) *refresh.Manager {
	t.Helper()
	c := &credentials.Credentials{Issuer: mi.issuer(), GrantType: credentials.GrantPassword, AppID: "app", ClientSecret: "fake-secret",
		CompanyUUID: "uuid", CompanyRequestToken: "fake-crt", AuthStyle: credentials.AuthParams, Path: filepath.Join(dir, "credentials.json")}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Retries of a refused connection end soon: the test is about what follows.
	client := &refresh.Client{Timeout: 500 * time.Millisecond, Sleep: func(ctx context.Context, d time.Duration) error { return nil }}
	return &refresh.Manager{Creds: c, Client: client, Paths: storage.Paths{
		CredentialsFile: c.Path, TokenFile: filepath.Join(dir, "token.json"), LockFile: filepath.Join(dir, "token.json.lock")}}
}

// setTokenURL rewrites the record's token_url, as an older discovery left it.
func setTokenURL(t *testing.T, m *refresh.Manager, u string) {
	t.Helper()
	tok, err := m.Load()
	if err != nil || tok == nil {
		t.Fatalf("record: %v", err)
	}
	tok.TokenURL = u
	data, err := tok.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.WriteFile(m.Paths.TokenFile, data); err != nil {
		t.Fatal(err)
	}
}

// shrinkingLease is the file store whose lock is a lease that covers the
// first request and then runs short (its keep-alive failing, say).
type shrinkingLease struct{ storage.Store }

func (s shrinkingLease) Lock(ctx context.Context, timeout time.Duration, holder string) (storage.Locked, error) {
	l, err := s.Store.Lock(ctx, timeout, holder)
	if err != nil {
		return nil, err
	}
	return &shrinkingLocked{Locked: l}, nil
}

type shrinkingLocked struct {
	storage.Locked
	asked int
}

func (l *shrinkingLocked) Expires() time.Time {
	if l.asked++; l.asked == 1 {
		return time.Now().Add(time.Hour)
	}
	return time.Now().Add(10 * time.Millisecond)
}

// TestRediscoveryLeaseMustOutlastTheResend: the request sent again to the
// endpoint the document names now is one more exchange under the lock; a
// lease that no longer outlasts it sends nothing, as for the first.
func TestRediscoveryLeaseMustOutlastTheResend(t *testing.T) {
	mi := newMovingIssuer(t)
	dir := testfs.TempDir(t)
	m := movingManager(t, mi, dir)
	if _, err := m.Ensure(context.Background(), refresh.Options{}); err != nil {
		t.Fatalf("first grant: %v", err)
	}
	m = movingManager(t, mi, dir)
	m.Store = shrinkingLease{storage.OpenFileStore(m.Paths, nil)}
	mi.move(mi.issuer()+"/new/token", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	refreshes := mi.fake.Count("refresh_token")
	_, err := m.Ensure(context.Background(), refresh.Options{Force: true})
	if sent := mi.fake.Count("refresh_token") - refreshes; sent != 0 {
		t.Errorf("the refresh token reached the new endpoint %d times under a lease that ends in 10ms, want 0", sent)
	}
	if refresh.KindOf(err) != refresh.KindTemporary || !strings.Contains(err.Error(), "lease") {
		t.Errorf("got %v, want a temporary error about the lease", err)
	}
}
