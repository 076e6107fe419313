package refresh

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// TestManagerBOMTokenFile: a token file saved by an editor that adds a UTF-8 BOM
// loads, as credentials.json does; it is not set aside.
func TestManagerBOMTokenFile(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	data, err := os.ReadFile(e.paths.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.paths.TokenFile, append([]byte("\uFEFF"), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustEnsure(t, Options{}, ActionValid)
	e.wantCounts(t, 1, 0)
	if moved, _ := filepath.Glob(e.paths.TokenFile + ".corrupt-*"); len(moved) != 0 {
		t.Errorf("set aside: %q", moved)
	}
}

// seedEnv is a grantType refresh_token profile whose seed the fake endpoint
// issued; the first run spends it.
func seedEnv(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	seedTok, err := e.m.Client.Exchange(t.Context(), passwordRequest(e.fs.TokenURL(), "params"))
	if err != nil {
		t.Fatal(err)
	}
	e.creds.GrantType, e.creds.RefreshToken = credentials.GrantRefreshToken, seedTok.RefreshToken
	e.creds.CompanyUUID, e.creds.CompanyRequestToken, e.creds.CredentialType = "", "", ""
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	return e, seedTok.RefreshToken
}

// TestManagerCorruptFileSpentSeed: a token file that cannot be parsed is set
// aside, but when it shows that the seed of credentials.json started its grant
// (so was spent), the seed is not sent again — not in this run, not in the next:
// the live refresh token is in the set-aside file, and the error says where.
func TestManagerCorruptFileSpentSeed(t *testing.T) {
	e, seed := seedEnv(t)
	data, err := os.ReadFile(e.paths.TokenFile)
	if err != nil {
		t.Fatal(err)
	}
	live := e.stored(t).RefreshToken
	if err := os.WriteFile(e.paths.TokenFile, append(data, "\ngarbage"...), 0o600); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * time.Hour)
	_, err = e.ensure(t, Options{})
	if KindOf(err) != KindNeedsHuman {
		t.Fatalf("Ensure: %v (kind %v), want KindNeedsHuman", err, KindOf(err))
	}
	moved, _ := filepath.Glob(e.paths.TokenFile + ".corrupt-*")
	if len(moved) != 1 {
		t.Fatalf("%d set-aside files, want 1", len(moved))
	}
	if !strings.Contains(err.Error(), moved[0]) || !strings.Contains(HintOf(err), moved[0]) {
		t.Errorf("error %q / hint %q: want both to say the live token went to %s", err, HintOf(err), moved[0])
	}
	assertNoSecrets(t, "error", err.Error()+HintOf(err), seed, live)
	e.wantCounts(t, 1, 1) // the first run's seed only

	_, err = e.ensure(t, Options{})
	if KindOf(err) != KindNeedsHuman {
		t.Fatalf("next run: %v (kind %v), want KindNeedsHuman", err, KindOf(err))
	}
	e.wantCounts(t, 1, 1)

	// A new seed pasted by a human is used at once.
	fresh, err := e.m.Client.Exchange(t.Context(), passwordRequest(e.fs.TokenURL(), "params"))
	if err != nil {
		t.Fatal(err)
	}
	e.creds.RefreshToken = fresh.RefreshToken
	e.mustEnsure(t, Options{}, ActionBootstrapped)
}

// TestManagerCorruptFileUnknownSeed: a corrupt file that says nothing of the seed
// (an unrelated file, zeros) is set aside and the seed is used, as with no file.
func TestManagerCorruptFileUnknownSeed(t *testing.T) {
	e, _ := seedEnv(t)
	if err := os.WriteFile(e.paths.TokenFile, make([]byte, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	// A seed the endpoint accepts (the first one was rotated away), so that the
	// run can succeed once it is sent.
	fresh, err := e.m.Client.Exchange(t.Context(), passwordRequest(e.fs.TokenURL(), "params"))
	if err != nil {
		t.Fatal(err)
	}
	e.creds.RefreshToken = fresh.RefreshToken
	r := e.mustEnsure(t, Options{}, ActionBootstrapped)
	if got := e.fs.LastForm().Get("refresh_token"); got != fresh.RefreshToken {
		t.Error("the seed was not sent")
	}
	if !hasWarning(r, "moved it to") {
		t.Errorf("warnings %q, want the set-aside one", r.Warnings)
	}
}

// TestManagerRecordNotAFile: a token file that is no regular file of this user is
// reported (kind Credentials: exit 78) before any request, and left where it is.
func TestManagerRecordNotAFile(t *testing.T) {
	tests := []struct {
		name, want string
		make       func(t *testing.T, path string)
	}{
		{"FIFO", "is a FIFO", func(t *testing.T, path string) {
			mkfifo(t, path)
		}},
		{"directory", "is a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"dangling link", "which does not exist", func(t *testing.T, path string) {
			skipOnWindows(t, "symbolic links")
			if err := os.Symlink(filepath.Join(tempDir(t), "gone.json"), path); err != nil {
				t.Fatal(err)
			}
		}},
		{"/dev/zero", "is a character device", func(t *testing.T, path string) {
			skipOnWindows(t, "symbolic links")
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{}, nil)
			tt.make(t, e.paths.TokenFile)
			for _, o := range []Options{{}, {Force: true}} {
				_, err := e.ensure(t, o)
				if KindOf(err) != KindCredentials || !strings.Contains(err.Error(), tt.want) || HintOf(err) == "" {
					t.Errorf("Ensure(%+v): %v (kind %v, hint %q), want KindCredentials saying %q with a hint", o, err, KindOf(err), HintOf(err), tt.want)
				}
			}
			e.wantCounts(t, 0, 0)
			if moved, _ := filepath.Glob(e.paths.TokenFile + ".corrupt-*"); len(moved) != 0 {
				t.Errorf("set aside: %q", moved)
			}
		})
	}
}

// recStore is the file store with a record of the calls made through the seam.
type recStore struct {
	storage.Store
	mu    sync.Mutex
	calls []string
}

func (s *recStore) note(c string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *recStore) Read(ctx context.Context) ([]byte, error) {
	s.note("Read")
	return s.Store.Read(ctx)
}

func (s *recStore) Lock(ctx context.Context, timeout time.Duration, holder string) (storage.Locked, error) {
	s.note("Lock")
	l, err := s.Store.Lock(ctx, timeout, holder)
	if err != nil {
		return nil, err
	}
	return &recLocked{Locked: l, s: s}, nil
}

type recLocked struct {
	storage.Locked
	s *recStore
}

func (l *recLocked) Read(ctx context.Context) ([]byte, error) {
	l.s.note("Locked.Read")
	return l.Locked.Read(ctx)
}

func (l *recLocked) CheckSavable(ctx context.Context, size int) error {
	l.s.note("CheckSavable")
	return l.Locked.CheckSavable(ctx, size)
}

func (l *recLocked) Save(ctx context.Context, data []byte) error {
	l.s.note("Save")
	return l.Locked.Save(ctx, data)
}

func (l *recLocked) SetAside(ctx context.Context, now time.Time) (string, error) {
	l.s.note("SetAside")
	return l.Locked.SetAside(ctx, now)
}

func (l *recLocked) Unlock() error {
	l.s.note("Unlock")
	return l.Locked.Unlock()
}

// TestManagerUsesStore: every read, lock, check, save and set-aside of the
// lifecycle goes through Manager.Store.
func TestManagerUsesStore(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	s := &recStore{Store: storage.OpenFileStore(e.paths, nil)}
	e.m.Store = s
	if err := os.WriteFile(e.paths.TokenFile, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.mustEnsure(t, Options{}, ActionValid)
	want := []string{"Read", "Lock", "Locked.Read", "SetAside", "CheckSavable", "Save", "Unlock", "Read"}
	s.mu.Lock()
	got := slices.Clone(s.calls)
	s.mu.Unlock()
	if !slices.Equal(dedupeReads(got), dedupeReads(want)) {
		t.Errorf("calls through the store: got %q, want %q", got, want)
	}
	if _, err := os.Lstat(e.paths.LockFile); err != nil {
		t.Errorf("the file store's lock file: %v", err)
	}
}

// dedupeReads folds runs of lock-free Reads into one: tests read the file too.
func dedupeReads(calls []string) []string {
	var out []string
	for _, c := range calls {
		if c == "Read" && len(out) > 0 && out[len(out)-1] == "Read" {
			continue
		}
		out = append(out, c)
	}
	return out
}

// TestManagerLinkedCorruptFileEndpointDown: a corrupt token file behind a link is
// set aside; when the new grant then fails for now, the link is not left
// dangling (which the next run would refuse, exit 78): the next run just gets
// the grant.
func TestManagerLinkedCorruptFileEndpointDown(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	e := newEnv(t, fakeserver.Options{}, nil)
	target := filepath.Join(tempDir(t), "token.json")
	if err := os.WriteFile(target, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, e.paths.TokenFile); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		e.fs.Fail(fakeserver.Fault{Status: 503})
	}
	_, err := e.ensure(t, Options{})
	if KindOf(err) != KindTemporary {
		t.Fatalf("endpoint down: %v (kind %v), want KindTemporary", err, KindOf(err))
	}
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	if fi, err := os.Lstat(e.paths.TokenFile); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
	if moved, _ := filepath.Glob(target + ".corrupt-*"); len(moved) != 1 {
		t.Errorf("set-aside files beside the target: %q, want 1", moved)
	}
}

// namedStore is a store that names its record as a shared store does.
type namedStore struct{ storage.Store }

func (namedStore) Name() string { return "etcd://127.0.0.1:2379/tokenkeeper/p/record" }

// TestDecisionNamesTheStoresRecord: the decision's warnings name the record
// where it lives (its store's Name), not the local token file's path, which a
// shared store does not use for the record.
func TestDecisionNamesTheStoresRecord(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	c := &credentials.Credentials{TokenURL: "https://auth.example.com/token", GrantType: credentials.GrantClientCredentials,
		AppID: "app", ClientSecret: "fake-secret", Path: "/cfg/credentials.json"}
	m := &Manager{Creds: c, Paths: storage.Paths{TokenFile: "/st/refreshTokenObjectFile.json"}, Clock: fixedClock(now),
		Store: namedStore{}}
	future := &Token{AccessToken: "fake-at", TokenURL: c.TokenURL, ObtainedAt: now.Add(time.Hour), Expiry: now.Add(2 * time.Hour)}
	p := m.decide(future, nil, Options{}, now, DefaultMargin)
	got := strings.Join(p.Warnings, "\n")
	if !strings.Contains(got, "etcd://127.0.0.1:2379/tokenkeeper/p/record") || strings.Contains(got, "/st/") {
		t.Errorf("warnings = %q, want the store's record named, not the token file", got)
	}
}

// sharedStub is the file store seen as a shared one: the record in it may
// have been written by another host.
type sharedStub struct{ storage.Store }

// TestRecordTokenURLNotTrusted: a grant found through the issuer keeps the
// discovered token endpoint in the record, so that a run need not ask again.
// A record in a shared store is written by other hosts: a token_url there on
// another origin than the issuer's is not where this host's refresh token and
// client secret go, nor is a token_url no token may be sent to (plain http to
// another host) in the user's own file: the issuer's discovery decides.
func TestRecordTokenURLNotTrusted(t *testing.T) {
	// The other origin answers as a token endpoint would, and counts what
	// reaches it.
	var stolen atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"evil-at","token_type":"Bearer","expires_in":3600,"refresh_token":"evil-rt"}`)
	}))
	defer evil.Close()
	for _, tt := range []struct {
		name, planted string
		shared        bool
	}{
		{"shared store, another origin", evil.URL + "/token", true},
		{"own file, plain http elsewhere", "http://192.0.2.2:9/token", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{Style: fakeserver.StyleKeycloak}, func(c *credentials.Credentials) {
				c.TokenURL, c.CredentialType = "", ""
			})
			e.creds.Issuer = e.fs.URL()
			e.mustEnsure(t, Options{}, ActionBootstrapped)
			tok, err := e.m.Load()
			if err != nil || tok.TokenURL == "" {
				t.Fatalf("record after the grant: %v, %v", tok, err)
			}
			discovered := tok.TokenURL
			tok.TokenURL = tt.planted
			e.writeToken(t, tok)
			if tt.shared {
				e.m.Store = sharedStub{storage.OpenFileStore(e.paths, nil)}
			}
			e.clock.Add(2 * time.Hour)
			e.mustEnsure(t, Options{}, ActionRefreshed)
			e.wantCounts(t, 1, 1)
			if n := stolen.Load(); n != 0 {
				t.Errorf("%d requests reached the token_url planted in the record", n)
			}
			if tok, _ := e.m.Load(); tok == nil || tok.TokenURL != discovered {
				t.Errorf("token_url after the refresh: %v, want the discovered %s", tok, discovered)
			}
		})
	}
}

// failingReadStore is a store whose lock-free read fails as a shared store's
// does when no member answers.
type failingReadStore struct{ storage.Store }

func (failingReadStore) Read(context.Context) ([]byte, error) {
	return nil, fmt.Errorf("etcd: get /tokenkeeper/default/record: no member answered: %w", storage.ErrUnavailable)
}

// TestLoadErrorDetail: Load's errors say themselves without the package's
// name (Detail) for a program that shows them on a row of their own, and
// with it (Error) in a chain.
func TestLoadErrorDetail(t *testing.T) {
	dir := tempDir(t)
	paths := storage.Paths{TokenFile: filepath.Join(dir, "t.json")}
	if err := os.WriteFile(paths.TokenFile, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		store storage.Store
		want  string
	}{
		{"corrupt", nil, paths.TokenFile + ": 1:1: unexpected end of JSON input"},
		{"unreadable", failingReadStore{storage.OpenFileStore(paths, nil)}, "etcd: get /tokenkeeper/default/record: no member answered: " + storage.ErrUnavailable.Error()},
	} {
		_, err := (&Manager{Paths: paths, Store: tt.store}).Load()
		d, ok := err.(interface{ Detail() string })
		if !ok {
			t.Errorf("%s: %T has no Detail: %v", tt.name, err, err)
			continue
		}
		if got := d.Detail(); got != tt.want {
			t.Errorf("%s: Detail: got %q, want %q", tt.name, got, tt.want)
		}
		if got, want := err.Error(), "refresh: "+tt.want; got != want {
			t.Errorf("%s: Error: got %q, want %q", tt.name, got, want)
		}
	}
}
