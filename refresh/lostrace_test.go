package refresh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// TestLostRace: another program that ignores tokenkeeper's lock (the
// tutorial's own script, say) refreshes with the same refresh token a moment
// earlier and saves the rotated one; tokenkeeper's request is then refused
// with invalid_grant. That is a lost race, not a dead grant: tokenkeeper must
// use what is on disk — and if the other program saved no usable access token,
// renew with the refresh token it saved (never sent by us: no replay) — and
// never bootstrap or ask for a human.
func TestLostRace(t *testing.T) {
	tests := []struct {
		name        string
		rogueFormat func(t *testing.T, body []byte, start time.Time) []byte
		wantAction  string
		wantRefresh int // refresh requests in all: the rogue's, ours, and a retry
		wantBoot    int // password grants in all, the first bootstrap included
	}{
		{"other writer saved a valid token", tokenkeeperFormat, refresh.ActionValid, 2, 1},
		{"other writer saved the tutorial's format", tutorialFormat, refresh.ActionRefreshed, 3, 1},
		// Nothing to go on: a new grant, and no nil dereference.
		{"other writer removed the file", removed, refresh.ActionBootstrapped, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lr := newLostRace(t)
			m := lr.manager()
			if _, err := m.Ensure(context.Background(), refresh.Options{}); err != nil {
				t.Fatalf("bootstrap: %v", err)
			}
			rogue := func(body []byte, start time.Time) {
				data := tt.rogueFormat(t, body, start)
				err := os.Remove(m.Paths.TokenFile)
				if data != nil {
					err = storage.WriteFile(m.Paths.TokenFile, data)
				}
				if err != nil {
					t.Error(err)
				}
			}
			lr.rogue.Store(&rogue)

			r, err := m.Ensure(context.Background(), refresh.Options{Force: true})
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			if r.Action != tt.wantAction {
				t.Errorf("action: got %q, want %q", r.Action, tt.wantAction)
			}
			if got := lr.srv.Count("refresh_token"); got != tt.wantRefresh {
				t.Errorf("refresh requests: got %d, want %d", got, tt.wantRefresh)
			}
			if got := lr.srv.Count("password"); got != tt.wantBoot {
				t.Errorf("password grants: got %d, want %d", got, tt.wantBoot)
			}
			disk, err := m.Load()
			if err != nil || disk.AccessToken != r.Token.AccessToken {
				t.Errorf("the token handed out is not the one on disk (%v)", err)
			}
			if !lr.srv.ValidAccessToken(r.Token.AccessToken) || !lr.srv.ValidRefreshToken(disk.RefreshToken) {
				t.Errorf("the tokens are not the endpoint's live ones")
			}
		})
	}
}

// lostRace is a rotating fake endpoint in front of which, when rogue is set,
// a non-locking writer refreshes with the refresh token of each refresh
// request just before that request arrives, then saves what it got.
type lostRace struct {
	t     *testing.T
	dir   string
	srv   *fakeserver.Server
	url   string
	rogue atomic.Pointer[func(body []byte, start time.Time)] // used once
}

func newLostRace(t *testing.T) *lostRace {
	lr := &lostRace{t: t, dir: testfs.TempDir(t)}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(lr.serve))
	lr.url = "http://" + ts.Listener.Addr().String()
	lr.srv = fakeserver.NewHandler(fakeserver.Options{
		ClientID: "app", ClientSecret: "secret", CompanyUUID: "company", RequestToken: "request",
		Rotate: true, BaseURL: lr.url,
	})
	ts.Start()
	t.Cleanup(func() { lr.srv.Close(); ts.Close() })
	return lr
}

func (lr *lostRace) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !bytes.Contains(body, []byte("grant_type=refresh_token")) {
		r.Body = io.NopCloser(bytes.NewReader(body))
		lr.srv.ServeHTTP(w, r)
		return
	}
	if save := lr.rogue.Swap(nil); save != nil {
		start := time.Now()
		rec := httptest.NewRecorder()
		rr := r.Clone(r.Context())
		rr.Body = io.NopCloser(bytes.NewReader(body))
		lr.srv.ServeHTTP(rec, rr)
		if rec.Code != http.StatusOK {
			lr.t.Errorf("the rogue refresh failed: %d %s", rec.Code, rec.Body)
		}
		(*save)(rec.Body.Bytes(), start)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	lr.srv.ServeHTTP(w, r)
}

func (lr *lostRace) manager() *refresh.Manager {
	tokenFile := filepath.Join(lr.dir, storage.TokenFileName)
	return &refresh.Manager{
		Creds: &credentials.Credentials{
			TokenURL: lr.srv.TokenURL(), GrantType: credentials.GrantPassword,
			AppID: "app", ClientSecret: "secret", CompanyUUID: "company", CompanyRequestToken: "request",
			AuthStyle: credentials.AuthParams, Path: filepath.Join(lr.dir, "credentials.json"),
		},
		Paths:  storage.Paths{TokenFile: tokenFile, LockFile: tokenFile + storage.LockSuffix},
		Client: &refresh.Client{},
	}
}

// removed stands for a writer that deletes the file instead of saving one.
func removed(*testing.T, []byte, time.Time) []byte { return nil }

// tokenkeeperFormat saves a response as tokenkeeper would.
func tokenkeeperFormat(t *testing.T, body []byte, start time.Time) []byte {
	tok, err := refresh.ParseResponse(body, "application/json", start)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tok.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tutorialFormat saves a response as the tutorial's Node sample does: the body
// as received, so the access token's expiry is unknown to tokenkeeper.
func tutorialFormat(t *testing.T, body []byte, _ time.Time) []byte {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	m["companyUUID"] = "company"
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
