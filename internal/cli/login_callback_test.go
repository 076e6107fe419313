package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoginCallbackHostile: the loopback listener of tokenkeeper login, seen
// by other local processes and by web pages before the browser comes back.
// Any page can send the listener requests by the thousand (an <img> to
// 127.0.0.1:PORT) and a page whose DNS name was rebound to 127.0.0.1 sends its
// own Host: the first is said once, not once a request; the second is
// refused even with the right state, and the login waits on for the real
// answer.
func TestLoginCallbackHostile(t *testing.T) {
	bin := binaryTest(t)
	dir := t.TempDir()
	// Nothing listens at these endpoints: this login must end at the
	// callback, never at the token endpoint.
	creds := `{"grantType": "authorization_code", "appID": "app",
  "authURL": "http://127.0.0.1:1/authorize", "tokenURL": "http://127.0.0.1:1/token"}`
	lc := startCallbackLogin(t, bin, dir, creds, `http://127\.0\.0\.1:1/authorize\?\S+`)
	authURL := lc.authURL
	redirect, state := authURL.Query().Get("redirect_uri"), authURL.Query().Get("state")
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(u, host string) int {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if host != "" {
			req.Host = host
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("GET %s: %v", u, err)
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 50 {
		if st := get(redirect+"?code=forged&state=wrong"+strings.Repeat("x", i), ""); st != http.StatusBadRequest {
			t.Errorf("a wrong state: %d, want 400", st)
		}
	}
	if st := get(redirect+"?code=forged&state="+url.QueryEscape(state), "evil.example"); st == http.StatusOK {
		t.Errorf("a callback for Host evil.example was taken: %d", st)
	}
	// The provider's answer (here a refusal, with an escape in its words)
	// still ends the login: the Host evil.example one did not.
	if st := get(redirect+"?error=access_denied&error_description="+url.QueryEscape("no \x1b[31mred")+"&state="+url.QueryEscape(state), ""); st != http.StatusOK {
		t.Errorf("the real callback: %d, want 200", st)
	}
	err := lc.wait()
	out := lc.all.String()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitNeedsHuman || !strings.Contains(out, "access_denied") {
		t.Fatalf("login: %v, want exit 77 for access_denied:\n%s", err, out)
	}
	if n := strings.Count(out, "wrong state"); n != 1 {
		t.Errorf("the wrong state was said %d times, want once:\n%s", n, out)
	}
	if strings.Contains(out, "\x1b") || !strings.Contains(out, "access_denied: no ") {
		t.Errorf("the description was not shown cleaned:\n%q", out)
	}
	if !bytes.Contains([]byte(out), []byte("run tokenkeeper --dir "+dir+" login")) {
		t.Errorf("no hint with the user's --dir:\n%s", out)
	}
}

// TestLoginIssRequired: an issuer whose discovery document promises iss in
// every authorization answer (RFC 9207 §3) gets an answer without it refused:
// the code is never redeemed, whatever the state says.
func TestLoginIssRequired(t *testing.T) {
	bin := binaryTest(t)
	var redeemed atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":%q,"authorization_response_iss_parameter_supported":true}`,
				srv.URL, srv.URL+"/authorize", srv.URL+"/token")
		case "/token":
			redeemed.Add(1)
			fmt.Fprint(w, `{"access_token":"at-0123456789abcdef","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-0123456789abcdef"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	creds := fmt.Sprintf(`{"grantType": "authorization_code", "appID": "app", "issuer": %q}`, srv.URL)
	lc := startCallbackLogin(t, bin, dir, creds, `http://127\.0\.0\.1:\d+/authorize\?\S+`)
	authURL := lc.authURL
	resp, err := http.Get(authURL.Query().Get("redirect_uri") + "?code=c0de&state=" + url.QueryEscape(authURL.Query().Get("state")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	err = lc.wait()
	out := lc.all.String()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || redeemed.Load() != 0 {
		t.Fatalf("login: %v (%d redeemed), want a refusal of an answer without iss:\n%s", err, redeemed.Load(), out)
	}
	// The login again is the one the person ran: login alone would exit 2
	// on a host without a browser.
	if !strings.Contains(out, "no iss") || strings.Contains(out, "in time") || !strings.Contains(out, "; run tokenkeeper --dir "+dir+" login --no-browser (or ") {
		t.Errorf("the refusal does not say why, or no hint with the user's --dir:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "refreshTokenObjectFile.json")); err == nil {
		t.Error("a refused login wrote a token file")
	}
}

// TestLoginPortTaken: a redirectURL whose port another program holds is
// said as such, naming the address and the field, before anything is opened.
func TestLoginPortTaken(t *testing.T) {
	bin := binaryTest(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	creds := fmt.Sprintf(`{"grantType": "authorization_code", "appID": "app", "redirectURL": "http://%s/callback",
  "authURL": "http://127.0.0.1:1/authorize", "tokenURL": "http://127.0.0.1:1/token"}`, addr)
	if err := os.WriteFile(path, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--dir", dir, "login", "--no-browser")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	o := runAll(t, []*exec.Cmd{cmd})[0]
	if o.code != exitConfig || !strings.Contains(o.stderr, "hint: the browser comes back to "+addr+" (redirectURL in "+path+")") {
		t.Fatalf("got %s, want 78 naming %s and redirectURL", o, addr)
	}
}

// TestLoginCallbackPageTellsOutcome: the page the browser is shown says how
// the login ended, not that it succeeded because a code came back: a code
// the token endpoint refuses is a failed login, in the browser too.
func TestLoginCallbackPageTellsOutcome(t *testing.T) {
	bin := binaryTest(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_grant","error_description":"code expired"}`)
	}))
	defer srv.Close()
	dir := t.TempDir()
	creds := fmt.Sprintf(`{"grantType": "authorization_code", "appID": "app", "authURL": %q, "tokenURL": %q}`, srv.URL+"/authorize", srv.URL+"/token")
	lc := startCallbackLogin(t, bin, dir, creds, `http://127\.0\.0\.1:\d+/authorize\?\S+`)
	authURL := lc.authURL
	resp, err := http.Get(authURL.Query().Get("redirect_uri") + "?code=c0de&state=" + url.QueryEscape(authURL.Query().Get("state")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	err = lc.wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitNeedsHuman {
		t.Fatalf("login: %v, want 77 for a refused code:\n%s", err, lc.all.String())
	}
	if strings.Contains(string(body), "logged in") || !strings.Contains(string(body), "Login failed") {
		t.Errorf("the browser was told %q for a login that failed", body)
	}
}

// callbackLogin is a tokenkeeper login --no-browser that has shown its
// authorization URL and waits for the browser to come back.
type callbackLogin struct {
	cmd     *exec.Cmd
	sc      *bufio.Scanner
	all     strings.Builder
	authURL *url.URL
}

// startCallbackLogin writes creds as dir's credentials.json, starts a login
// on them and reads what it says up to the authorization URL that authRe
// finds.
func startCallbackLogin(t *testing.T, bin, dir, creds, authRe string) *callbackLogin {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--dir", dir, "login", "--no-browser", "--wait", "2m")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	lc := &callbackLogin{cmd: cmd, sc: bufio.NewScanner(startStderr(t, cmd))}
	re := regexp.MustCompile(authRe)
	for lc.authURL == nil && lc.sc.Scan() {
		lc.all.WriteString(lc.sc.Text() + "\n")
		if m := re.FindString(lc.sc.Text()); m != "" {
			lc.authURL, _ = url.Parse(m)
		}
	}
	if lc.authURL == nil {
		cmd.Process.Kill()
		t.Fatalf("no authorization URL shown:\n%s", lc.all.String())
	}
	return lc
}

// wait reads the rest of what the login says into all and waits for it to
// end.
func (lc *callbackLogin) wait() error {
	for lc.sc.Scan() {
		lc.all.WriteString(lc.sc.Text() + "\n")
	}
	return lc.cmd.Wait()
}
