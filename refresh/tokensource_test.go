package refresh_test

import (
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeclock"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// TestTokenSourceReadsNoFile: once a valid token is known, TokenSource hands it
// out from memory: the token file can be gone, and no allocation is made.
func TestTokenSourceReadsNoFile(t *testing.T) {
	srv := newServer(t, fakeserver.Options{})
	m := newManager(t, srv, testfs.TempDir(t), nil)
	ts := m.TokenSource()
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(m.Paths.TokenFile); err != nil {
		t.Fatal(err)
	}
	again, err := ts.Token()
	if err != nil {
		t.Fatalf("with the file gone: %v (the token was read from the file again)", err)
	}
	if again != first {
		t.Error("a second call on a valid token returned another *oauth2.Token; want the same, shared one")
	}
	if n := testing.AllocsPerRun(100, func() { ts.Token() }); n != 0 {
		t.Errorf("Token on a valid token: %v allocations per call, want 0", n)
	}
	if n := srv.Count(""); n != 1 {
		t.Errorf("token endpoint saw %d requests, want 1", n)
	}
}

// TestTokenSourceMarginGoesToFile: a token renewed by another process is not
// seen while ours is fresh, and is picked up from the file, with no request,
// once our token reaches the margin.
func TestTokenSourceMarginGoesToFile(t *testing.T) {
	srv := newServer(t, fakeserver.Options{Rotate: true})
	dir := testfs.TempDir(t)
	clock := fakeclock.New(time.Now())
	m, other := newManager(t, srv, dir, clock), newManager(t, srv, dir, clock)
	ts := m.TokenSource()
	first, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(10 * time.Minute)
	renewed, err := other.Ensure(t.Context(), refresh.Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if renewed.Token.AccessToken == first.AccessToken {
		t.Fatal("the other process's renewal gave the same token: the test proves nothing")
	}
	if got, _ := ts.Token(); got.AccessToken != first.AccessToken {
		t.Error("before the margin, TokenSource went back to the file")
	}
	// The fake's tokens live an hour; the margin is a minute.
	clock.Add(time.Hour - 10*time.Minute - refresh.DefaultMargin - time.Nanosecond)
	if got, _ := ts.Token(); got.AccessToken != first.AccessToken {
		t.Error("1 ns before the margin, TokenSource went back to the file")
	}
	clock.Add(time.Nanosecond)
	got, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != renewed.Token.AccessToken {
		t.Error("at the margin, TokenSource did not hand out the token the other process saved")
	}
	if n := srv.Count("refresh_token"); n != 1 {
		t.Errorf("token endpoint saw %d refresh requests, want 1 (the other process's)", n)
	}
}

// TestTransport401GoesToFile: a process whose cached token was replaced by
// another process's renewal (and refused by the API) takes the new one from the
// file on the 401, without a renewal of its own; its TokenSource then hands out
// the new one too.
func TestTransport401GoesToFile(t *testing.T) {
	srv := newServer(t, fakeserver.Options{Rotate: true})
	dir := testfs.TempDir(t)
	m, other := newManager(t, srv, dir, nil), newManager(t, srv, dir, nil)
	// The API accepts only the token in the file: older ones are revoked.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		disk, err := other.Load()
		if err != nil || disk == nil || r.Header.Get("Authorization") != "Bearer "+disk.AccessToken {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	t.Cleanup(api.Close)
	first, err := m.TokenSource().Token()
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := other.Ensure(t.Context(), refresh.Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := m.HTTPClient().Get(api.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("API answered %d, want 200 after the 401 and the retry with the file's token", resp.StatusCode)
	}
	if n := srv.Count("refresh_token"); n != 1 {
		t.Errorf("token endpoint saw %d refresh requests, want 1 (the other process's only)", n)
	}
	got, err := m.TokenSource().Token()
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken == first.AccessToken || got.AccessToken != renewed.Token.AccessToken {
		t.Error("after the 401, TokenSource still hands out the refused token")
	}
}

// TestTokenSourceCallerWrites: a caller that writes to the shared token does not
// change what the next caller gets.
func TestTokenSourceCallerWrites(t *testing.T) {
	srv := newServer(t, fakeserver.Options{})
	m := newManager(t, srv, testfs.TempDir(t), nil)
	ts := m.TokenSource()
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	// The file keeps whole seconds; the first token, straight from the endpoint, more.
	want, expiry := tok.AccessToken, tok.Expiry.Truncate(time.Second)
	for i, write := range []func(){
		func() { tok.AccessToken = "corrupted" },
		func() { tok.Expiry = tok.Expiry.Add(24 * time.Hour) },
		func() { tok.TokenType = "Basic" },
		func() { tok.RefreshToken = "planted" },
	} {
		write()
		got, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != want || !got.Expiry.Truncate(time.Second).Equal(expiry) || !strings.EqualFold(got.Type(), "Bearer") || got.RefreshToken != "" {
			t.Fatalf("after write %d to its token, the next caller got %q %v %q (want %v)", i, got.AccessToken, got.Expiry, got.Type(), expiry)
		}
		tok = got
	}
}

// TestRenewAt: the instant Valid turns false, which tools that cache a token
// are given (kubectl's expirationTimestamp, git's password_expiry_utc).
func TestRenewAt(t *testing.T) {
	obtained := time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name   string
		life   time.Duration
		margin time.Duration
		want   time.Duration // after obtained; -1: zero time
	}{
		{"margin within half the lifetime", time.Hour, time.Minute, 59 * time.Minute},
		{"margin capped at half a 30s token", 30 * time.Second, time.Minute, 15 * time.Second},
		{"no margin", time.Hour, 0, time.Hour},
		{"unknown expiry", 0, time.Minute, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := &refresh.Token{AccessToken: "a", ObtainedAt: obtained}
			if c.life > 0 {
				tok.Expiry = obtained.Add(c.life)
			}
			got := tok.RenewAt(c.margin)
			if c.want < 0 {
				if !got.IsZero() {
					t.Fatalf("RenewAt = %v, want zero", got)
				}
				return
			}
			if want := obtained.Add(c.want); !got.Equal(want) {
				t.Fatalf("RenewAt = %v, want %v", got, want)
			}
			if !tok.Valid(got.Add(-time.Nanosecond), c.margin) || tok.Valid(got, c.margin) {
				t.Errorf("Valid disagrees with RenewAt: want valid 1 ns before, not at")
			}
		})
	}
}
