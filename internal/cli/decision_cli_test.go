package cli

// status and refresh report one decision (docs/contract.md §2, "One decision"): through the
// binary, for each state of the files, status's exit code and verdict say what
// refresh then does. And a dead grant is left alone: after the first refusal no
// request reaches the endpoint until credentials.json changes.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// dtEditToken rewrites fields of the token record.
func dtEditToken(t *testing.T, dir string, edit map[string]any) {
	t.Helper()
	path := filepath.Join(dir, "refreshTokenObjectFile.json")
	var m map[string]any
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range edit {
		m[k] = v
	}
	data, _ = json.Marshal(m)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

type dtStatus struct {
	Next     string `json:"next"`
	Verdict  string `json:"verdict"`
	ExitCode int    `json:"exit_code"`
}

// dtAgree runs status --json, then refresh, and checks they agree: the same exit
// code, and what status said the run would do is what it did. It returns the
// requests refresh sent.
func dtAgree(t *testing.T, srv *fakeserver.Server, dir string, wantCode int, wantNext string) {
	t.Helper()
	out, serr, code := ftRun(t, nil, "--dir", dir, "status", "--json")
	var st dtStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s\n%s", err, out, ftMask(serr))
	}
	if code != st.ExitCode || code != wantCode || st.Next != wantNext {
		t.Fatalf("status exited %d (exit_code %d), next %q (%s); want %d, %q", code, st.ExitCode, st.Next, st.Verdict, wantCode, wantNext)
	}
	before := srv.Count("")
	_, rerr, rcode := ftRun(t, nil, "--dir", dir, "refresh")
	if rcode != code {
		t.Fatalf("status exited %d (%s) but refresh %d:\n%s", code, st.Verdict, rcode, ftMask(rerr))
	}
	sent := srv.Count("") - before
	did := map[string]string{"nothing": "valid: ", "refresh": "refreshed: ", "bootstrap": "bootstrapped: "}[st.Next]
	switch {
	case st.Next == "human" && sent != 0:
		t.Errorf("status said a person must act (%s), but refresh sent %d requests", st.Verdict, sent)
	case did != "" && !strings.Contains(rerr, "tokenkeeper: "+did):
		t.Errorf("status said %q, refresh did otherwise:\n%s", st.Next, ftMask(rerr))
	}
}

func TestStatusAndRefreshAgree(t *testing.T) {
	t.Parallel()
	future := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
	tests := []struct {
		name  string
		setup func(t *testing.T, srv *fakeserver.Server, dir string)
		code  int
		next  string
	}{
		{"credentials missing", func(t *testing.T, srv *fakeserver.Server, dir string) { os.MkdirAll(dir, 0o700) }, exitConfig, "human"},
		{"credentials unfilled", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, dir, srv.TokenURL(), map[string]string{"clientSecret": "", "companyRequestToken": ""})
		}, exitConfig, "human"},
		{"credentials oversized", func(t *testing.T, srv *fakeserver.Server, dir string) {
			os.MkdirAll(dir, 0o700)
			os.WriteFile(filepath.Join(dir, "credentials.json"), []byte("{"+strings.Repeat(" ", 2<<20)+"}"), 0o600)
		}, exitConfig, "human"},
		{"no token yet", func(t *testing.T, srv *fakeserver.Server, dir string) { ftCreds(t, dir, srv.TokenURL(), nil) }, exitOK, "bootstrap"},
		{"corrupt token file", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, dir, srv.TokenURL(), nil)
			os.WriteFile(filepath.Join(dir, "refreshTokenObjectFile.json"), []byte("{not json"), 0o600)
		}, exitOK, "bootstrap"},
		{"token file is a directory", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, dir, srv.TokenURL(), nil)
			os.MkdirAll(filepath.Join(dir, "refreshTokenObjectFile.json"), 0o700)
		}, exitConfig, "human"},
		{"valid", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, dir, srv.TokenURL(), nil)
			ftRun(t, nil, "--dir", dir, "refresh")
		}, exitOK, "nothing"},
		{"expired with a live refresh token", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, dir, srv.TokenURL(), nil)
			ftRun(t, nil, "--dir", dir, "refresh")
			dtEditToken(t, dir, map[string]any{"expires_at": future(-time.Minute)})
		}, exitOK, "refresh"},
		{"refused refresh and refused bootstrap", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, dir, srv.TokenURL(), nil)
			ftRun(t, nil, "--dir", dir, "refresh")
			dtEditToken(t, dir, map[string]any{"expires_at": future(-time.Minute)})
			srv.RevokeRefreshTokens()
			srv.SetRequestToken("a-newer-request-token-Z9")
			if _, _, code := ftRun(t, nil, "--dir", dir, "refresh"); code != exitNeedsHuman {
				t.Fatalf("the refusing run exited %d, want 77", code)
			}
		}, exitNeedsHuman, "human"},
		{"credentials changed after a refusal", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, dir, srv.TokenURL(), nil)
			srv.SetRequestToken("a-newer-request-token-Z9")
			ftRun(t, nil, "--dir", dir, "refresh")
			ftCreds(t, dir, srv.TokenURL(), map[string]string{"companyRequestToken": "a-newer-request-token-Z9"})
		}, exitOK, "bootstrap"},
		{"spent seed", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, filepath.Join(dir, "boot"), srv.TokenURL(), nil)
			ftRun(t, nil, "--dir", filepath.Join(dir, "boot"), "refresh")
			var rec map[string]any
			data, _ := os.ReadFile(filepath.Join(dir, "boot", "refreshTokenObjectFile.json"))
			json.Unmarshal(data, &rec)
			ftCreds(t, dir, srv.TokenURL(), map[string]string{"grantType": "refresh_token", "refreshToken": rec["refresh_token"].(string),
				"companyUUID": "", "companyRequestToken": "", "credentialType": ""})
			ftRun(t, nil, "--dir", dir, "refresh")
			dtEditToken(t, dir, map[string]any{"expires_at": future(-time.Minute)})
			srv.RevokeRefreshTokens()
			ftRun(t, nil, "--dir", dir, "refresh")
		}, exitNeedsHuman, "human"},
		{"clock set back", func(t *testing.T, srv *fakeserver.Server, dir string) {
			ftCreds(t, dir, srv.TokenURL(), nil)
			ftRun(t, nil, "--dir", dir, "refresh")
			dtEditToken(t, dir, map[string]any{"obtained_at": future(3 * time.Hour), "expires_at": future(4 * time.Hour)})
		}, exitOK, "refresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakeserver.New(fakeserver.Options{ClientID: ftClientID, ClientSecret: ftClientSecret,
				CompanyUUID: ftCompanyUUID, RequestToken: ftRequestToken, Rotate: true})
			t.Cleanup(srv.Close)
			dir := filepath.Join(t.TempDir(), "p")
			tt.setup(t, srv, dir)
			dtAgree(t, srv, dir, tt.code, tt.next)
		})
	}
}

// TestDeadGrantLeftAlone: against a rotating endpoint, a dead grant gets one
// refused request and then none, from token, refresh, refresh --force and status
// alike; a corrected credentials.json recovers in one run.
func TestDeadGrantLeftAlone(t *testing.T) {
	t.Parallel()
	t.Run("refresh_token grant", func(t *testing.T) {
		srv := fakeserver.New(fakeserver.Options{ClientID: ftClientID, ClientSecret: ftClientSecret,
			CompanyUUID: ftCompanyUUID, RequestToken: ftRequestToken, Rotate: true, AccessTTL: time.Second})
		t.Cleanup(srv.Close)
		root := t.TempDir()
		boot, dir := filepath.Join(root, "boot"), filepath.Join(root, "rt")
		seed := func() string {
			ftRun(t, nil, "--dir", boot, "refresh", "--force")
			var rec map[string]any
			data, _ := os.ReadFile(filepath.Join(boot, "refreshTokenObjectFile.json"))
			json.Unmarshal(data, &rec)
			return rec["refresh_token"].(string)
		}
		ftCreds(t, boot, srv.TokenURL(), nil)
		rtCreds := func(rt string) {
			ftCreds(t, dir, srv.TokenURL(), map[string]string{"grantType": "refresh_token", "refreshToken": rt,
				"companyUUID": "", "companyRequestToken": "", "credentialType": ""})
		}
		rtCreds(seed())
		if _, serr, code := ftRun(t, nil, "--dir", dir, "token"); code != exitOK {
			t.Fatalf("token exited %d:\n%s", code, ftMask(serr))
		}
		srv.RevokeRefreshTokens()
		time.Sleep(1100 * time.Millisecond) // the access token (1s) expires
		_, first, code := ftRun(t, nil, "--dir", dir, "token")
		ftWant(t, "token after the revocation", code, exitNeedsHuman, first)
		refused := srv.Count("refresh_token")
		for _, args := range [][]string{{"token"}, {"token"}, {"refresh"}, {"refresh", "--force"}, {"status"}} {
			_, serr, code := ftRun(t, nil, append([]string{"--dir", dir}, args...)...)
			ftWant(t, strings.Join(args, " "), code, exitNeedsHuman, serr)
			if args[0] != "status" && lastError(serr) != lastError(first) {
				t.Errorf("%s: %q, want the same as the first: %q", strings.Join(args, " "), lastError(serr), lastError(first))
			}
		}
		if n := srv.Count("refresh_token") - refused; n != 0 {
			t.Errorf("%d refresh_token requests after the first refusal, want 0", n)
		}
		rtCreds(seed()) // a person pastes a new refresh token: tried at once
		before := srv.Count("refresh_token")
		if _, serr, code := ftRun(t, nil, "--dir", dir, "token"); code != exitOK {
			t.Fatalf("token with a new refresh token exited %d:\n%s", code, ftMask(serr))
		}
		if n := srv.Count("refresh_token") - before; n != 1 {
			t.Errorf("recovery sent %d refresh_token requests, want 1", n)
		}
	})
	t.Run("concur grant", func(t *testing.T) {
		srv := fakeserver.New(fakeserver.Options{ClientID: ftClientID, ClientSecret: ftClientSecret,
			CompanyUUID: ftCompanyUUID, RequestToken: ftRequestToken, Rotate: true, AccessTTL: time.Second})
		t.Cleanup(srv.Close)
		dir := t.TempDir()
		ftCreds(t, dir, srv.TokenURL(), nil)
		ftRun(t, nil, "--dir", dir, "refresh")
		srv.RevokeRefreshTokens()
		srv.SetRequestToken("a-newer-request-token-Z9")
		time.Sleep(1100 * time.Millisecond)
		_, first, code := ftRun(t, nil, "--dir", dir, "refresh")
		ftWant(t, "refresh after the revocation", code, exitNeedsHuman, first)
		password, refreshes := srv.Count("password"), srv.Count("refresh_token")
		for range 3 { // cron, again and again
			_, serr, code := ftRun(t, nil, "--dir", dir, "refresh", "--quiet")
			ftWant(t, "cron run", code, exitNeedsHuman, serr)
		}
		if _, _, code := ftRun(t, nil, "--dir", dir, "status"); code != exitNeedsHuman {
			t.Errorf("status exited %d, want 77", code)
		}
		if srv.Count("password") != password || srv.Count("refresh_token") != refreshes {
			t.Errorf("requests after the first refusal: %d password, %d refresh_token; want none",
				srv.Count("password")-password, srv.Count("refresh_token")-refreshes)
		}
		ftCreds(t, dir, srv.TokenURL(), map[string]string{"companyRequestToken": "a-newer-request-token-Z9"})
		if _, serr, code := ftRun(t, nil, "--dir", dir, "refresh"); code != exitOK || !strings.Contains(serr, "bootstrapped") {
			t.Fatalf("refresh with the new request token exited %d:\n%s", code, ftMask(serr))
		}
		if n := srv.Count("password") - password; n != 1 {
			t.Errorf("recovery sent %d password requests, want 1", n)
		}
	})
}

// lastError is the error line of a run's stderr and its hint, the age of a
// refusal ("refused at 20:29 UTC, 1s ago") left out: a later run on a busy
// machine says the same a second later.
func lastError(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "tokenkeeper: ") && !strings.HasPrefix(l, "tokenkeeper: warning: ") {
			keep = append(keep, refusalAge.ReplaceAllString(l, ", … ago"))
		}
	}
	return strings.Join(keep, "\n")
}

var refusalAge = regexp.MustCompile(`, (\d+[dhms])+ ago`)
