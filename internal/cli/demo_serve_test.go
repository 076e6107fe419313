package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoServe drives `tokenkeeper demo --serve` through the binary: the
// printed credentials.json is saved as it is, and the commands work against
// the endpoint without an edit.
func TestDemoServe(t *testing.T) {
	bin := binaryTest(t)
	t.Run("Password", func(t *testing.T) { t.Parallel(); testDemoServePassword(t, bin) })
	t.Run("Login", func(t *testing.T) { t.Parallel(); testDemoServeLogin(t, bin) })
	t.Run("Device", func(t *testing.T) { t.Parallel(); testDemoServeDevice(t, bin) })
	t.Run("ClientCredentials", func(t *testing.T) { t.Parallel(); testDemoServeClientCredentials(t, bin) })
	t.Run("Fail", func(t *testing.T) { t.Parallel(); testDemoServeFail(t, bin) })
	t.Run("Usage", func(t *testing.T) { t.Parallel(); testDemoServeUsage(t, bin) })
}

// demoServer is a running `tokenkeeper demo --serve`.
type demoServer struct {
	t      *testing.T
	bin    string
	doc    map[string]string // the printed credentials.json
	dir    string            // a profile directory holding it
	stderr *syncBuffer
	done   chan outcome
	cmd    *exec.Cmd
}

// startDemoServe starts `tokenkeeper demo --serve ARGS…`, reads the document
// it prints and saves it, unedited, as the credentials.json of a new directory.
func startDemoServe(t *testing.T, bin string, args ...string) *demoServer {
	t.Helper()
	d := &demoServer{t: t, bin: bin, dir: t.TempDir(), stderr: &syncBuffer{}, done: make(chan outcome, 1)}
	d.cmd = exec.Command(bin, append([]string{"demo", "--serve"}, args...)...)
	d.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + d.dir}
	d.cmd.Stderr = d.stderr
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.cmd.Process.Kill() })
	var raw json.RawMessage
	if err := json.NewDecoder(stdout).Decode(&raw); err != nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
		t.Fatalf("demo --serve printed no JSON document: %v; stderr:\n%s", err, d.stderr)
	}
	go func() {
		rest, _ := io.ReadAll(stdout)
		err := d.cmd.Wait()
		o := outcome{stdout: string(rest), stderr: d.stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			o.code = ee.ExitCode()
		}
		d.done <- o
	}()
	if err := json.Unmarshal(raw, &d.doc); err != nil {
		t.Fatalf("the document is not an object of strings: %v\n%s", err, raw)
	}
	if !strings.HasPrefix(d.doc["issuer"], "http://127.0.0.1:") {
		t.Fatalf("issuer %q is not on 127.0.0.1", d.doc["issuer"])
	}
	if err := os.WriteFile(filepath.Join(d.dir, "credentials.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return d
}

// command is tokenkeeper --dir DIR ARGS… for the saved document, with no
// terminal and no display.
func (d *demoServer) command(args ...string) *exec.Cmd {
	cmd := exec.Command(d.bin, append([]string{"--dir", d.dir}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + d.dir}
	return cmd
}

func (d *demoServer) run(args ...string) outcome {
	d.t.Helper()
	return runAll(d.t, []*exec.Cmd{d.command(args...)})[0]
}

// stop sends SIGTERM and returns how the server ended.
func (d *demoServer) stop() outcome {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case o := <-d.done:
		return o
	case <-time.After(15 * time.Second):
		d.t.Fatal("demo --serve did not stop within 15s of SIGTERM")
	}
	return outcome{}
}

// testDemoServePassword: the default document (the password grant) gets a
// first token, a refresh rotates it, token prints it; the grant is refused
// once POST /demo/fail says so, and not once it says none; SIGTERM ends the
// server with exit 0.
func testDemoServePassword(t *testing.T, bin string) {
	d := startDemoServe(t, bin)
	if d.doc["grantType"] != "password" {
		t.Errorf("grantType %q, want password by default", d.doc["grantType"])
	}
	if o := d.run("setup", "--no-input"); o.code != 0 {
		t.Fatalf("setup --no-input: %s", o)
	}
	before := readRecord(t, d.dir)["refresh_token"]
	if o := d.run("refresh", "--force"); o.code != 0 || !strings.Contains(o.stderr, "refreshed") {
		t.Fatalf("refresh --force: %s", o)
	}
	if after := readRecord(t, d.dir)["refresh_token"]; after == "" || after == before {
		t.Error("the refresh did not rotate the refresh token")
	}
	o := d.run("token")
	if o.code != 0 || strings.TrimSpace(o.stdout) != readRecord(t, d.dir)["access_token"] {
		t.Fatalf("token: %s\nstdout %q", o, o.stdout)
	}
	// A working grant goes dead, and comes back, at the user's word.
	failURL := d.doc["issuer"] + "/demo/fail"
	setFail := func(mode, origin string) int {
		req, _ := http.NewRequest(http.MethodPost, failURL, strings.NewReader(url.Values{"mode": {mode}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := setFail("refuse", "http://attacker.example"); st != http.StatusForbidden {
		t.Errorf("a cross-origin switch: %d, want 403", st)
	}
	if st := setFail("refuse", ""); st != http.StatusOK {
		t.Fatalf("switching to refuse: %d", st)
	}
	if o := d.run("refresh", "--force"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, "invalid_grant") {
		t.Errorf("refresh after the switch to refuse: %s, want 77", o)
	}
	if st := setFail("none", ""); st != http.StatusOK {
		t.Fatalf("switching back: %d", st)
	}
	if o := d.run("refresh", "--retry"); o.code != 0 {
		t.Errorf("refresh --retry once the endpoint no longer fails: %s", o)
	}
	end := d.stop()
	if end.code != 0 || !strings.Contains(end.stderr, "demo endpoint stopped") {
		t.Errorf("after SIGTERM: %s", end)
	}
	for _, want := range []string{"--dir DIR refresh", "--dir DIR token", "--dir DIR setup", "--grant authorization_code", "curl -d mode=refuse " + failURL} {
		if !strings.Contains(end.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, end.stderr)
		}
	}
	if strings.Contains(end.stderr, d.doc["clientSecret"]) || strings.Contains(end.stderr, d.doc["password"]) {
		t.Error("stderr shows a secret of the document")
	}
}

// testDemoServeClientCredentials: --grant client_credentials prints a
// document without a user, and token gets an access token with it.
func testDemoServeClientCredentials(t *testing.T, bin string) {
	d := startDemoServe(t, bin, "--grant", "client_credentials")
	if d.doc["grantType"] != "client_credentials" || d.doc["username"] != "" || d.doc["password"] != "" {
		t.Errorf("document %v, want client_credentials without a user", d.doc)
	}
	if o := d.run("token"); o.code != 0 || strings.TrimSpace(o.stdout) != readRecord(t, d.dir)["access_token"] {
		t.Fatalf("token: %s", o)
	}
}

func readRecord(t *testing.T, dir string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "refreshTokenObjectFile.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// testDemoServeLogin: with --grant authorization_code, refresh says a login
// is needed; login with a browser that approves on the consent page logs in,
// one that denies is refused (77).
func testDemoServeLogin(t *testing.T, bin string) {
	d := startDemoServe(t, bin, "--grant", "authorization_code")
	if o := d.run("refresh"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, "login") {
		t.Fatalf("refresh before a login: %s, want 77 naming login", o)
	}
	login := func(action string) outcome {
		cmd := d.command("login")
		cmd.Env = append(cmd.Env, "BROWSER="+os.Args[0], browserActionEnv+"="+action, browserProviderEnv+"=demo",
			browserLogEnv+"="+filepath.Join(d.dir, "browser.log"))
		return runAll(t, []*exec.Cmd{cmd})[0]
	}
	if o := login("deny"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, "access_denied") {
		log, _ := os.ReadFile(filepath.Join(d.dir, "browser.log"))
		t.Fatalf("login denied on the consent page: %s, want 77 quoting access_denied; browser: %s", o, log)
	}
	if o := login("allow"); o.code != 0 || !strings.Contains(o.stderr, "logged in") {
		log, _ := os.ReadFile(filepath.Join(d.dir, "browser.log"))
		t.Fatalf("login approved on the consent page: %s; browser: %s", o, log)
	}
	if o := d.run("refresh", "--force"); o.code != 0 {
		t.Fatalf("refresh after the login: %s", o)
	}
	if o := d.run("token"); o.code != 0 || strings.TrimSpace(o.stdout) == "" {
		t.Fatalf("token after the login: %s", o)
	}
}

// demoBrowse is the scripted browser at demo --serve: it opens the
// authorization URL, reads the consent page's form as a browser does, and
// submits it with the button of action ("allow": Approve, else Deny),
// following the redirect to login's listener.
func demoBrowse(authURL, action string) (int, string, error) {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(authURL)
	if err != nil {
		return 0, "", err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	form, err := pageForm(string(page))
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(page), fmt.Errorf("the consent page: %v", err)
	}
	decision := "deny"
	if action == "allow" {
		decision = "approve"
	}
	form.values.Set("decision", decision)
	target, err := resp.Request.URL.Parse(form.action)
	if err != nil {
		return 0, "", err
	}
	resp, err = c.PostForm(target.String(), form.values)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), nil
}

type htmlForm struct {
	action string
	values url.Values
}

var (
	formRe    = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	inputRe   = regexp.MustCompile(`<input (?:type="hidden" )?name="([^"]+)" value="([^"]*)"`)
	buttonsRe = regexp.MustCompile(`<button type="submit" name="decision" value="(approve|deny)">`)
)

// pageForm reads the one form of a demo page: its action, its inputs, and
// that it has both buttons.
func pageForm(page string) (htmlForm, error) {
	m := formRe.FindStringSubmatch(page)
	if m == nil || len(buttonsRe.FindAllString(page, -1)) != 2 {
		return htmlForm{}, fmt.Errorf("no form with approve and deny buttons in:\n%s", page)
	}
	f := htmlForm{action: m[1], values: url.Values{}}
	for _, in := range inputRe.FindAllStringSubmatch(page, -1) {
		f.values.Set(in[1], in[2])
	}
	return f, nil
}

// testDemoServeDevice: login --device prints where to go and the code; the
// device page, filled in as a person would, approves it.
func testDemoServeDevice(t *testing.T, bin string) {
	d := startDemoServe(t, bin, "--grant", "authorization_code")
	cmd := d.command("login", "--device")
	cmd.Env = append(cmd.Env, "BROWSER=/nonexistent/browser-must-not-run")
	all, err := deviceLogin(t, cmd, demoApproveDevice)
	if err != nil {
		t.Fatalf("login --device: %v\n%s", err, all)
	}
	if o := d.run("refresh", "--force"); o.code != 0 {
		t.Errorf("refresh after a device login: %s", o)
	}
}

// demoApproveDevice opens the verification page, types the user code into
// its form and presses Approve.
func demoApproveDevice(verify, userCode string) error {
	if !strings.HasPrefix(verify, "http://127.0.0.1:") {
		return fmt.Errorf("verification_uri %q is not the demo's", verify)
	}
	resp, err := http.Get(verify)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	f, err := pageForm(string(page))
	if err != nil {
		return err
	}
	if _, ok := f.values["user_code"]; !ok {
		return fmt.Errorf("the device page has no user_code field:\n%s", page)
	}
	f.values.Set("user_code", strings.ToLower(userCode)) // as a person may type it
	f.values.Set("decision", "approve")
	target, _ := resp.Request.URL.Parse(f.action)
	resp, err = http.PostForm(target.String(), f.values)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Approved") {
		return fmt.Errorf("the device page answered %d:\n%s", resp.StatusCode, body)
	}
	return nil
}

// testDemoServeFail: --fail makes refresh exit as documented: 75 for an
// outage, 77 for a refused grant (the password one included) and, for a login
// grant, for a dead refresh token.
func testDemoServeFail(t *testing.T, bin string) {
	outage := startDemoServe(t, bin, "--fail", "outage")
	if o := outage.run("refresh"); o.code != exitTemp || !strings.Contains(o.stderr, "503") {
		t.Errorf("--fail outage: %s, want 75 and the 503", o)
	}
	refuse := startDemoServe(t, bin, "--fail", "refuse")
	if o := refuse.run("refresh"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, "invalid_grant") {
		t.Errorf("--fail refuse: %s, want 77 quoting invalid_grant", o)
	}
	dead := startDemoServe(t, bin, "--fail", "dead-refresh", "--grant", "device_code")
	cmd := dead.command("login")
	if _, err := deviceLogin(t, cmd, demoApproveDevice); err != nil {
		t.Fatalf("device login with dead refresh tokens: %v", err)
	}
	if o := dead.run("refresh", "--force"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, "login") {
		t.Errorf("--fail dead-refresh after a login: %s, want 77 naming login", o)
	}
}

// testDemoServeUsage: --listen takes loopback only (exit 2, nothing bound,
// nothing printed); the serve flags need --serve.
func testDemoServeUsage(t *testing.T, bin string) {
	cases := [][]string{
		{"demo", "--serve", "--listen", "0.0.0.0:0"},
		{"demo", "--serve", "--listen", ":0"},
		{"demo", "--serve", "--listen", "example.com:8400"},
		{"demo", "--serve", "--listen", "[::]:0"},
		{"demo", "--serve", "--fail", "sometimes"},
		{"demo", "--serve", "--grant", "implicit"},
		{"demo", "--fail", "outage"},
		{"demo", "--serve", "--keep"},
	}
	for _, args := range cases {
		cmd := exec.Command(bin, args...)
		o := runAll(t, []*exec.Cmd{cmd})[0]
		if o.code != exitUsage || o.stdout != "" {
			t.Errorf("%q: %s\nstdout %q; want exit 2 and nothing on stdout", args, o, o.stdout)
		}
	}
	// A port taken: exit 75 (it may be free on a later try) and no document
	// for an endpoint that is not there.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	o := runAll(t, []*exec.Cmd{exec.Command(bin, "demo", "--serve", "--listen", busy.Addr().String())})[0]
	if o.code != exitTemp || o.stdout != "" || !strings.Contains(o.stderr, "another port") {
		t.Errorf("a busy port: %s\nstdout %q; want exit 75 and nothing on stdout", o, o.stdout)
	}
	// A port no one can have: exit 78, and no other server to stop.
	o = runAll(t, []*exec.Cmd{exec.Command(bin, "demo", "--serve", "--listen", "127.0.0.1:99999")})[0]
	if o.code != exitConfig || o.stdout != "" || strings.Contains(o.stderr, "other server") {
		t.Errorf("port 99999: %s\nstdout %q; want exit 78 and no other server to stop", o, o.stdout)
	}
}
