//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// ptySession runs the real binary on a pseudo-terminal (stdin, stdout and
// stderr all on it, as in an interactive shell) and lets a test answer its
// questions as they appear, like a person would.
type ptySession struct {
	t      *testing.T
	cmd    *exec.Cmd
	tty    *os.File // the master side
	mu     sync.Mutex
	out    bytes.Buffer
	pos    int // how far expect has consumed out
	copied chan struct{}
}

func startPTY(t *testing.T, env []string, args ...string) *ptySession {
	t.Helper()
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("pseudo-terminal tests need linux or darwin")
	}
	cmd := exec.Command(startPTYBinary(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	s := &ptySession{t: t, cmd: cmd, tty: tty, copied: make(chan struct{})}
	go func() {
		defer close(s.copied)
		io.Copy(s, tty) // ends with EIO when the child has exited
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		tty.Close()
	})
	return s
}

// startPTYBinary is the binary under test: testscript.Main put it on PATH.
func startPTYBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("tokenkeeper")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func (s *ptySession) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.Write(p)
}

func (s *ptySession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// expect waits until text appears in the output after what earlier expects
// consumed, and consumes up to its end.
func (s *ptySession) expect(text string) {
	s.t.Helper()
	deadline := time.Now().Add(hangBound)
	for {
		s.mu.Lock()
		i := strings.Index(s.out.String()[s.pos:], text)
		if i >= 0 {
			s.pos += i + len(text)
		}
		s.mu.Unlock()
		if i >= 0 {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no %q in the terminal output after %s:\n%s", text, hangBound, s.output())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// answer waits for a question and types a line.
func (s *ptySession) answer(question, line string) {
	s.t.Helper()
	s.expect(question)
	if _, err := s.tty.Write([]byte(line + "\r")); err != nil {
		s.t.Fatal(err)
	}
}

// wait waits for the process and for its last output; it returns the exit code.
func (s *ptySession) wait() int {
	s.t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(hangBound):
		s.cmd.Process.Kill()
		s.t.Fatalf("tokenkeeper did not exit within %s; output:\n%s", hangBound, s.output())
	}
	select {
	case <-s.copied:
	case <-time.After(hangBound):
		s.t.Fatalf("terminal output did not end")
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		s.t.Fatal(err)
	}
	return 0
}

func TestSetupWizardConcur(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeserver.Options{})
	dir := t.TempDir()
	env := []string{"TOKENKEEPER_DIR=" + dir}

	s := startPTY(t, env, "setup")
	s.answer("choose [concur]: ", "")
	// Wrong answers are re-asked, with what is wrong.
	s.answer("region (us, eu, cn, us-impl, eu-impl, usg, or a full token URL) [us]: ", "mars")
	s.expect(`unknown region "mars"`)
	s.answer("[us]: ", "http://us.api.concursolutions.com/oauth2/v0/token")
	s.expect("uses http:// to a host that is not loopback")
	s.answer("[us]: ", srv.TokenURL())
	s.answer("App ID (client_id): ", fakeClientID)
	s.answer("client secret (not shown as you type): ", fakeClientSecret)
	s.answer("company UUID (from the Company Request Token screen): ", "")
	s.expect(`required for grantType "password", not set`)
	s.answer("company UUID (from the Company Request Token screen): ", fakeCompanyUUID)
	s.answer("company request token (not shown as you type): ", fakeRequestToken)
	if code := s.wait(); code != 0 {
		t.Fatalf("setup exited %d; output:\n%s", code, s.output())
	}
	out := s.output()
	for _, want := range []string{"saved " + filepath.Join(dir, "credentials.json"), "got a new grant", "access token:  valid until", "*/30 * * * * TOKENKEEPER_DIR="} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Plain answers are echoed (so the test would see an echoed secret),
	// secrets are not.
	if !strings.Contains(out, fakeCompanyUUID) {
		t.Errorf("the company UUID was not echoed; is the terminal test working?\n%s", out)
	}
	assertNoSecrets(t, out, fakeClientSecret, fakeRequestToken)
	c := readCredsFile(t, filepath.Join(dir, "credentials.json"))
	want := map[string]string{"tokenURL": srv.TokenURL(), "grantType": "password", "appID": fakeClientID,
		"clientSecret": fakeClientSecret, "companyUUID": fakeCompanyUUID, "companyRequestToken": fakeRequestToken,
		"credentialType": "authtoken", "authStyle": "params"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("credentials.json %s differs from what was answered", k)
		}
	}
	if n := srv.Count("password"); n != 1 {
		t.Errorf("token endpoint saw %d password grants, want 1", n)
	}

	// Re-running edits: every current value is offered, Enter keeps it.
	s = startPTY(t, env, "setup")
	s.expect("editing " + filepath.Join(dir, "credentials.json"))
	s.answer("choose [concur]: ", "")
	s.answer("[http://"+strings.TrimPrefix(srv.TokenURL(), "http://")+"]: ", "")
	s.answer("App ID (client_id) ["+fakeClientID+"]: ", "")
	s.answer("client secret [set, 25 characters; Enter keeps it]: ", "")
	s.answer("company UUID (from the Company Request Token screen) ["+fakeCompanyUUID+"]: ", "")
	s.answer("company request token [set, 25 characters; Enter keeps it]: ", "")
	if code := s.wait(); code != 0 {
		t.Fatalf("second setup exited %d; output:\n%s", code, s.output())
	}
	out = s.output()
	if !strings.Contains(out, "is unchanged") || !strings.Contains(out, "the stored access token is valid") {
		t.Errorf("second run: want the file unchanged and the token kept:\n%s", out)
	}
	assertNoSecrets(t, out, fakeClientSecret, fakeRequestToken)
	if n := srv.Count(""); n != 1 {
		t.Errorf("token endpoint saw %d requests in all, want 1", n)
	}
}

func TestSetupWizardGeneric(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeserver.Options{Style: fakeserver.StyleKeycloak})
	dir := t.TempDir()
	s := startPTY(t, []string{"TOKENKEEPER_DIR=" + dir}, "setup")
	// A misspelt provider is asked again, with the nearest preset named.
	s.answer("choose [concur]: ", "generc")
	s.expect(`"generc" is not one of the choices (did you mean generic?)`)
	s.answer("choose [concur]: ", "5")
	// The generic preset speaks no Concur: no default token URL, no default grant.
	s.answer("token URL: ", "")
	s.expect("required")
	s.answer("token URL: ", "auth.example.com/token")
	s.expect("has no scheme; want \"https://auth.example.com/token\"")
	s.answer("token URL: ", srv.TokenURL())
	s.expect("grant type:")
	s.answer("choose: ", "implicit")
	s.expect(`"implicit" is not one of the choices`)
	s.answer("choose: ", "client_credentials")
	s.answer("client ID (appID): ", fakeClientID)
	s.answer("client secret (not shown as you type): ", "")
	s.expect(`required for grantType "client_credentials", not set`)
	s.answer("client secret (not shown as you type): ", fakeClientSecret)
	s.answer("scope, optional (space-separated): ", "")
	s.answer("choose [params]: ", "header")
	if code := s.wait(); code != 0 {
		t.Fatalf("setup exited %d; output:\n%s", code, s.output())
	}
	out := s.output()
	assertNoSecrets(t, out, fakeClientSecret)
	if !strings.Contains(out, "got a new grant") {
		t.Errorf("output lacks the first exchange:\n%s", out)
	}
	c := readCredsFile(t, filepath.Join(dir, "credentials.json"))
	if c["grantType"] != "client_credentials" || c["authStyle"] != "header" || c["tokenURL"] != srv.TokenURL() || c["credentialType"] != "" {
		t.Errorf("credentials.json: grantType %q, authStyle %q, credentialType %q", c["grantType"], c["authStyle"], c["credentialType"])
	}
	if n := srv.Count("client_credentials"); n != 1 {
		t.Errorf("token endpoint saw %d client_credentials grants, want 1", n)
	}
}

// TestSetupWizardGenericPassword: the password grant at an endpoint other than
// Concur's is asked for in its own words, a username and a password: never
// Concur's companyUUID, company request token or credtype.
// A template written by init first (Concur's, with its credtype) is edited
// the same way, and Concur's credtype is not kept unasked.
func TestSetupWizardGenericPassword(t *testing.T) {
	t.Parallel()
	for _, fromTemplate := range []bool{false, true} {
		setupGenericPassword(t, fromTemplate)
	}
}

func setupGenericPassword(t *testing.T, fromTemplate bool) {
	srv := newFake(t, fakeserver.Options{Style: fakeserver.StyleKeycloak})
	tokenURL := srv.URL() + fakeserver.ShortTokenPath
	dir := t.TempDir()
	if fromTemplate {
		init := exec.Command(startPTYBinary(t), "--dir", dir, "init")
		init.Env = cleanEnv()
		if out, err := init.CombinedOutput(); !strings.Contains(string(out), "wrote a credentials template") {
			t.Fatalf("init: %v\n%s", err, out)
		}
	}
	s := startPTY(t, []string{"TOKENKEEPER_DIR=" + dir}, "setup")
	s.answer("choose [concur]: ", "generic")
	s.answer("token URL", tokenURL)
	s.expect("a username and password")
	s.answer("choose", "password")
	s.answer("client ID (appID)", fakeClientID)
	s.answer("client secret (not shown as you type)", fakeClientSecret)
	s.answer("username", "")
	s.expect(`required for grantType "password", not set`)
	s.answer("username", fakeCompanyUUID)
	s.answer("password (not shown as you type)", fakeRequestToken)
	s.answer("scope, optional (space-separated)", "")
	s.answer("choose [params]: ", "params")
	if code := s.wait(); code != 0 {
		t.Fatalf("setup exited %d; output:\n%s", code, s.output())
	}
	out := s.output()
	assertNoSecrets(t, out, fakeClientSecret, fakeRequestToken)
	_, asked, _ := strings.Cut(out, "token URL: ") // the provider menu names Concur's flow
	for _, concur := range []string{"companyUUID", "company UUID", "request token", "companyRequestToken", "credtype", "credentialType"} {
		if strings.Contains(asked, concur) {
			t.Errorf("setup for a generic password grant says %q:\n%s", concur, out)
		}
	}
	c := readCredsFile(t, filepath.Join(dir, "credentials.json"))
	if c["grantType"] != "password" || c["tokenURL"] != tokenURL || c["credentialType"] != "" {
		t.Errorf("credentials.json: grantType %q, tokenURL %q, credentialType %q", c["grantType"], c["tokenURL"], c["credentialType"])
	}
	if n := srv.Count("password"); n != 1 {
		t.Errorf("token endpoint saw %d password grants, want 1", n)
	}
}

// Ctrl-D at a question: nothing is saved, the message starts on its own line,
// and the exit code is Ctrl-C's.
func TestSetupWizardEndOfInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startPTY(t, []string{"TOKENKEEPER_DIR=" + dir}, "setup")
	s.answer("choose [concur]: ", "")
	s.expect("[us]: ")
	if _, err := s.tty.Write([]byte{4}); err != nil { // ^D
		t.Fatal(err)
	}
	if code := s.wait(); code != exitError {
		t.Fatalf("setup ended by ^D exited %d, want %d; output:\n%s", code, exitError, s.output())
	}
	out := s.output()
	if !strings.Contains(out, "[us]: \r\ntokenkeeper: setup: the input ended (Ctrl-D) before all questions were answered; nothing was saved") {
		t.Errorf("output:\n%q", out)
	}
	if strings.Contains(out, "on a terminal") {
		t.Errorf("output tells to run setup on a terminal, which it is:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "credentials.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials.json after ^D: %v, want none", err)
	}
}

// Ctrl-C at a secret question: nothing is saved and echo is back on.
func TestSetupWizardInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startPTY(t, []string{"TOKENKEEPER_DIR=" + dir}, "setup")
	s.answer("choose [concur]: ", "")
	s.answer("[us]: ", "eu")
	s.answer("App ID (client_id): ", fakeClientID)
	s.expect("client secret (not shown as you type): ")
	if _, err := s.tty.Write([]byte{3}); err != nil { // ^C
		t.Fatal(err)
	}
	if code := s.wait(); code != exitError {
		t.Fatalf("interrupted setup exited %d, want %d; output:\n%s", code, exitError, s.output())
	}
	if !strings.Contains(s.output(), "(not shown as you type): \r\ntokenkeeper: setup interrupted; nothing was saved") {
		t.Errorf("output:\n%q", s.output())
	}
	if strings.Contains(s.output(), "where you left off") {
		t.Errorf("output promises to resume, but nothing was saved:\n%s", s.output())
	}
	if _, err := os.Stat(filepath.Join(dir, "credentials.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("credentials.json after ^C: %v, want none", err)
	}
	tio, err := unix.IoctlGetTermios(int(s.tty.Fd()), ioctlGetTermios)
	if err != nil {
		t.Skipf("cannot read the terminal's modes: %v", err)
	}
	if tio.Lflag&unix.ECHO == 0 {
		t.Error("echo is still off after ^C")
	}
}

func readCredsFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %o, want 600", path, fi.Mode().Perm())
	}
	return m
}

func assertNoSecrets(t *testing.T, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the terminal showed a secret (%d characters); output:\n%s", len(s), strings.ReplaceAll(out, s, "[SECRET]"))
		}
	}
}

// TestSetupWizardThingParkLogin: the wizard offers a preset the grants of the
// one table of providers (ThingPark's include the login grants, which a
// second list of the wizard's could leave out), and a grant a person starts gets ThingPark's issuer, the token
// URL without Keycloak's token path.
func TestSetupWizardThingParkLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startPTY(t, []string{"TOKENKEEPER_DIR=" + dir, "TOKENKEEPER_TIMEOUT=1s"}, "setup")
	s.answer("choose [concur]: ", "thingpark")
	s.answer("or the full token URL: ", "http://127.0.0.1:1")
	s.expect("grant type:")
	for _, g := range []string{"client_credentials", "refresh_token", "authorization_code", "device_code"} {
		s.expect(g)
	}
	s.answer("choose [client_credentials]: ", "device_code")
	s.answer("client ID (appID): ", fakeClientID)
	s.answer("client secret (not shown as you type): ", "")
	s.answer("scope, optional (space-separated) [openid offline_access]: ", "")
	s.wait()
	c := readCredsFile(t, filepath.Join(dir, "credentials.json"))
	if c["issuer"] != "http://127.0.0.1:1/users-auth" || c["tokenURL"] != "" || c["grantType"] != "device_code" {
		t.Errorf("credentials.json: issuer %q, tokenURL %q, grantType %q; want ThingPark's issuer and no token URL\n%s",
			c["issuer"], c["tokenURL"], c["grantType"], s.output())
	}
}
