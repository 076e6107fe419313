package cli

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// TestIntegrations hands the token to the real clients — git, kubectl (or
// client-go's exec authenticator, what kubectl runs), curl —
// through the built binary, as subtests sharing one build.
func TestIntegrations(t *testing.T) {
	runWithBinary(t, []binTest{
		{"Formats", testFormats},
		{"GitCredentialFill", testGitCredentialFill},
		{"GitCredentialProtocol", testGitCredentialProtocol},
		{"Kubectl", testKubectl},
		{"KubectlEndpointDown", testKubectlEndpointDown},
		{"ClientGoExec", testClientGoExec},
		{"ServeUnixCurl", testServeUnixCurl},
		{"ServeStampede", testServeStampede},
		{"ServeLoopback", testServeLoopback},
		{"ServeErrors", testServeErrors},
		{"NoFormatLeaks", testNoFormatLeaks},
	})
}

// newIntegrationProfile is a profile with a first token already saved.
func newIntegrationProfile(t *testing.T, bin string) (*profile, *refresh.Token) {
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	tok, _ := p.load()
	return p, tok
}

func requireTool(t *testing.T, name string) string {
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found on PATH: this test runs the real %s", name, name)
	}
	return path
}

func testFormats(t *testing.T, bin string) {
	p, tok := newIntegrationProfile(t, bin)
	// hide keeps the access token out of the test's output: what a failure
	// shows is the shape of the output around it.
	hide := func(v any) string { return strings.ReplaceAll(fmt.Sprint(v), tok.AccessToken, "[access token]") }
	if got := p.mustRun("token").stdout; got != tok.AccessToken+"\n" {
		t.Errorf("token: %q, want the access token and a newline", hide(got))
	}
	for _, args := range [][]string{{"-o", "header"}, {"--header"}, {"--output", "header"}, {"--header", "-o", "header"}} {
		if got := p.mustRun(append([]string{"token"}, args...)...).stdout; got != "Authorization: Bearer "+tok.AccessToken+"\n" {
			t.Errorf("token %s: %q", strings.Join(args, " "), hide(got))
		}
	}

	var j map[string]string
	out := p.mustRun("token", "-o", "json").stdout
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("-o json: %v\n%s", err, hide(out))
	}
	want := map[string]string{
		"access_token": tok.AccessToken, "token_type": "Bearer", "scope": tok.Scope,
		"expires_at": tok.Expiry.UTC().Format(time.RFC3339), "geolocation": tok.Geolocation,
	}
	if fmt.Sprint(j) != fmt.Sprint(want) {
		t.Errorf("-o json = %v, want %v", hide(j), hide(want))
	}

	// The export lines, evaluated by a shell, give back the values.
	sh := exec.Command("sh", "-c", `eval "$("$0" token -o env)" && printf '%s|%s|%s|%s' "$TOKENKEEPER_ACCESS_TOKEN" "$TOKENKEEPER_TOKEN_TYPE" "$TOKENKEEPER_EXPIRES_AT" "$TOKENKEEPER_API_BASE"`, bin)
	sh.Env = p.command().Env
	o := p.run(sh)
	wantEnv := strings.Join([]string{tok.AccessToken, "Bearer", want["expires_at"], tok.Geolocation}, "|")
	if o.code != 0 || o.stdout != wantEnv {
		t.Errorf("eval of -o env: %q (%s), want %q", hide(o.stdout), hide(o), hide(wantEnv))
	}

	var ec struct {
		APIVersion, Kind string
		Status           struct{ Token, ExpirationTimestamp string }
	}
	out = p.mustRun("--margin", "90s", "token", "-o", "exec-credential").stdout
	if err := json.Unmarshal([]byte(out), &ec); err != nil {
		t.Fatalf("-o exec-credential: %v\n%s", err, hide(out))
	}
	exp, err := time.Parse(time.RFC3339, ec.Status.ExpirationTimestamp)
	if ec.APIVersion != "client.authentication.k8s.io/v1" || ec.Kind != "ExecCredential" || ec.Status.Token != tok.AccessToken ||
		err != nil || !exp.Equal(tok.Expiry.Add(-90*time.Second)) {
		t.Errorf("-o exec-credential = %s; want v1 ExecCredential with the token, expiring at the expiry less the 90s margin", hide(out))
	}

	for _, args := range [][]string{{"-o", "yaml"}, {"--header", "-o", "json"}} {
		o := p.run(p.command(append([]string{"token"}, args...)...))
		if o.code != exitUsage || o.stdout != "" {
			t.Errorf("token %s: exit %d, stdout %q; want exit 2 and nothing", strings.Join(args, " "), o.code, hide(o.stdout))
		}
	}
}

// gitEnv is an environment in which git reads only the given global config
// and never prompts, with tokenkeeper on PATH by its name.
func gitEnv(p *profile, bin string) []string {
	return []string{
		"PATH=" + filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + p.dir, "GIT_CONFIG_GLOBAL=" + p.path("gitconfig"), "GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "SSH_ASKPASS=",
	}
}

func (p *profile) git(env []string, stdin string, args ...string) outcome {
	cmd := exec.Command("git", args...)
	cmd.Env, cmd.Dir, cmd.Stdin = env, p.dir, strings.NewReader(stdin)
	return p.run(cmd)
}

// testGitCredentialFill configures the helper with the line of docs/integrations.md and asks
// git for credentials: the token for the configured host, nothing for
// another; `git credential reject` (what git does after a 401) renews the
// token once, and only when the refused password is ours.
func testGitCredentialFill(t *testing.T, bin string) {
	requireTool(t, "git")
	p, tok := newIntegrationProfile(t, bin)
	p.setCredential("gitHost", "git.example.test")
	env := gitEnv(p, bin)
	// The lines of docs/integrations.md, with --dir for --profile; a store helper configured
	// before them must not be asked (nor keep the token).
	for _, args := range [][]string{
		{"credential.helper", "store --file " + p.path("git-credentials")},
		{"credential.https://git.example.test.helper", ""},
		{"credential.https://git.example.test.helper", "!tokenkeeper --dir " + p.dir + " git-credential"},
	} {
		if o := p.git(env, "", "config", "--global", "--add", args[0], args[1]); o.code != 0 {
			t.Fatalf("git config: %s", o)
		}
	}
	t.Cleanup(func() {
		if data, err := os.ReadFile(p.path("git-credentials")); err == nil && len(data) > 0 {
			t.Errorf("the store helper was asked and kept a credential (%d bytes)", len(data))
		}
	})
	fill := func(host string) outcome {
		return p.git(env, "protocol=https\nhost="+host+"\npath=org/repo.git\n\n", "credential", "fill")
	}
	o := fill("git.example.test")
	if o.code != 0 || !strings.Contains(o.stdout, "\nusername=oauth2\npassword="+tok.AccessToken+"\n") {
		t.Fatalf("git credential fill: %s\nstdout:\n%s", o, strings.ReplaceAll(o.stdout, tok.AccessToken, "[access token]"))
	}
	if o := fill("other.example.test"); o.code == 0 || strings.Contains(o.stdout+o.stderr, tok.AccessToken) {
		t.Errorf("git credential fill for a host without the helper: exit %d; the token must not be handed out", o.code)
	}

	reject := func(password string) {
		t.Helper()
		if o := p.git(env, "protocol=https\nhost=git.example.test\nusername=oauth2\npassword="+password+"\n\n", "credential", "reject"); o.code != 0 {
			t.Fatalf("git credential reject: %s", o)
		}
	}
	reject("somebody-elses-password")
	if n := p.srv.Count("refresh_token"); n != 0 {
		t.Errorf("erase of a password that is not ours made %d renewals, want 0", n)
	}
	reject(tok.AccessToken)
	if n := p.srv.Count("refresh_token"); n != 1 {
		t.Errorf("erase of our token made %d renewals, want 1", n)
	}
	renewed, _ := p.load()
	o = fill("git.example.test")
	if renewed.AccessToken == tok.AccessToken || !strings.Contains(o.stdout, "password="+renewed.AccessToken+"\n") {
		t.Errorf("after the erase, fill does not hand out the renewed token:\n%s", o.stdout)
	}
	reject(tok.AccessToken) // the old one again: already replaced
	if n := p.srv.Count("refresh_token"); n != 1 {
		t.Errorf("a second erase of the replaced token made %d renewals in all, want 1", n)
	}
	if o := p.git(env, "protocol=https\nhost=git.example.test\nusername=oauth2\npassword=x\n\n", "credential", "approve"); o.code != 0 {
		t.Errorf("git credential approve (store): %s", o)
	}
}

// testGitCredentialProtocol speaks the protocol to the helper directly:
// password_expiry_utc (git 2.41+), gitUsername, no answer for http, bad input.
func testGitCredentialProtocol(t *testing.T, bin string) {
	p, tok := newIntegrationProfile(t, bin)
	p.setCredential("gitHost", "h")
	get := func(stdin string) outcome {
		cmd := p.command("--margin", "2m", "git-credential", "get")
		cmd.Stdin = strings.NewReader(stdin)
		return p.run(cmd)
	}
	o := get("protocol=https\nhost=h\n")
	want := fmt.Sprintf("username=oauth2\npassword=%s\npassword_expiry_utc=%d\n", tok.AccessToken, tok.Expiry.Add(-2*time.Minute).Unix())
	if o.code != 0 || o.stdout != want {
		t.Errorf("get: %q (%s), want %q", o.stdout, o, want)
	}
	var creds map[string]string
	data, _ := os.ReadFile(p.path("credentials.json"))
	json.Unmarshal(data, &creds)
	creds["gitUsername"] = "x-access-token"
	data, _ = json.Marshal(creds)
	os.WriteFile(p.path("credentials.json"), data, 0o600)
	if o := get("protocol=https\nhost=h\n\nprotocol=ignored\n"); !strings.HasPrefix(o.stdout, "username=x-access-token\n") {
		t.Errorf("get with gitUsername: %q (%s)", o.stdout, o)
	}
	if o := get("protocol=http\nhost=h\n"); o.code != 0 || o.stdout != "" {
		t.Errorf("get for http: %q (%s), want no answer and exit 0", o.stdout, o)
	}
	if o := get("protocol=https\nnot a pair\n"); o.code != exitUsage || o.stdout != "" {
		t.Errorf("get with a malformed line: %q (%s), want exit 2", o.stdout, o)
	}
	if o := get(strings.Repeat("k=v\n", 20000)); o.code != exitUsage {
		t.Errorf("get with 80 KB of input: %s, want exit 2", o)
	}
	if o := p.run(p.command("git-credential", "list")); o.code != exitUsage {
		t.Errorf("unknown action: %s, want exit 2", o)
	}
}

// testKubectl runs kubectl against a TLS API server that accepts only the
// stored access token, with a kubeconfig whose user is tokenkeeper as an exec
// credential plugin (the stanza of docs/integrations.md).
func testKubectl(t *testing.T, bin string) {
	kubectl := requireKubectl(t)
	p, _ := newIntegrationProfile(t, bin)
	api := newAPIServer(t, p)
	writeKubeconfig(t, p, api, bin)
	cmd := exec.Command(kubectl, "--kubeconfig", p.path("kubeconfig"), "get", "--raw", "/api")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.dir}
	o := p.run(cmd)
	if o.code != 0 || !strings.Contains(o.stdout, `"APIVersions"`) {
		t.Fatalf("kubectl get --raw /api: %s\nstdout: %s", o, o.stdout)
	}
	tok, _ := p.load()
	if calls := api.log(); len(calls) == 0 || calls[len(calls)-1] != (apiCall{tok.AccessToken, http.StatusOK}) {
		t.Error("the API server did not see the stored access token as bearer")
	}
}

// testKubectlEndpointDown: kubectl runs the exec plugin several times for one
// command (six, for kubectl 1.32's get), and each run waited the whole 30 s
// on a token endpoint that accepts and never answers: minutes. Without
// --timeout (the kubeconfig may have none), the first run gives up after
// 10 s and those that follow send nothing and fail at once: kubectl ends
// well within 20 s, showing tokenkeeper's message.
func testKubectlEndpointDown(t *testing.T, bin string) {
	kubectl := requireKubectl(t)
	p, _ := newIntegrationProfile(t, bin)
	api := newAPIServer(t, p)
	writeKubeconfig(t, p, api, bin)
	p.expire()
	for range 30 {
		p.srv.Fail(fakeserver.Fault{Hang: true})
	}
	before := p.srv.Count("")
	// A bound on a hang, not a timed assertion: 6 runs of 30 s each would
	// still be waiting.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kubectl, "--kubeconfig", p.path("kubeconfig"), "get", "--raw", "/api")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.dir}
	o := p.run(cmd)
	if ctx.Err() != nil {
		t.Fatalf("kubectl still waiting after 60 s: %s", o)
	}
	if o.code == 0 || !strings.Contains(o.stderr, "tokenkeeper: refresh: token endpoint") || !strings.Contains(o.stderr, "not asked again before") {
		t.Errorf("kubectl with the token endpoint down: %s\nwant a failure showing tokenkeeper's message, and the runs after the first sending nothing", o)
	}
	if n := p.srv.Count("") - before; n < 1 || n > 2 {
		t.Errorf("the token endpoint got %d requests, want one run's (1 or 2): the later runs send nothing", n)
	}
}

// requireKubectl is kubectl 1.22 or later (client.authentication.k8s.io/v1),
// or skips the test naming it.
func requireKubectl(t *testing.T) string {
	kubectl := requireTool(t, "kubectl")
	out, err := exec.Command(kubectl, "version", "--client", "-o", "json").Output()
	var v struct{ ClientVersion struct{ Major, Minor string } }
	json.Unmarshal(out, &v)
	minor, _ := strconv.Atoi(strings.TrimRight(v.ClientVersion.Minor, "+"))
	if err != nil || v.ClientVersion.Major != "1" || minor < 22 {
		t.Skipf("kubectl 1.22 or later not found (%s %s.%s): client.authentication.k8s.io/v1 needs it", kubectl, v.ClientVersion.Major, v.ClientVersion.Minor)
	}
	return kubectl
}

// writeKubeconfig writes p's kubeconfig: api as the cluster, and tokenkeeper
// as the user's exec credential plugin (the stanza of docs/integrations.md, without
// --timeout: its default for this output is what is tested).
func writeKubeconfig(t *testing.T, p *profile, api *apiServer, bin string) {
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: tokenkeeper
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: %s
      args: ["--dir", %q, "token", "-o", "exec-credential"]
      interactiveMode: Never
contexts:
- name: test
  context:
    cluster: test
    user: tokenkeeper
current-context: test
`, api.URL, base64.StdEncoding.EncodeToString(api.caPEM()), bin, p.dir)
	if err := os.WriteFile(p.path("kubeconfig"), []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
}

// apiServer is a TLS stand-in for a Kubernetes API server (client-go sends an
// exec plugin's token only over TLS): it answers GET /api when the bearer is
// the profile's stored access token and that token has not expired, 401
// otherwise, as a real one would, and keeps a log of what it was sent.
type apiServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []apiCall
}

// apiCall is one request to the apiServer.
type apiCall struct {
	bearer string // a secret: compare it, never print it
	status int
}

func newAPIServer(t *testing.T, p *profile) *apiServer {
	a := &apiServer{}
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, _ := p.load()
		auth := r.Header.Get("Authorization")
		call := apiCall{strings.TrimPrefix(auth, "Bearer "), http.StatusOK}
		if auth != "Bearer "+tok.AccessToken || !time.Now().Before(tok.Expiry) {
			call.status = http.StatusUnauthorized
		}
		a.mu.Lock()
		a.calls = append(a.calls, call)
		a.mu.Unlock()
		if call.status != http.StatusOK {
			w.WriteHeader(call.status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1:6443"}]}`)
	}))
	t.Cleanup(a.Close)
	return a
}

// caPEM is the certificate to trust, PEM-encoded, as a kubeconfig carries it.
func (a *apiServer) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Certificate().Raw})
}

// log is what the server was sent so far, in order.
func (a *apiServer) log() []apiCall {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// startServe starts `tokenkeeper ARGS` (a serve command line) and waits for its "serving" line; the
// returned function stops it with SIGTERM and returns how it ended.
func startServe(t *testing.T, p *profile, args ...string) (stderr *syncBuffer, stop func() outcome) {
	cmd := p.command(args...)
	stderr = &syncBuffer{}
	var stdout syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan outcome, 1)
	go func() {
		err := cmd.Wait()
		o := outcome{stdout: stdout.String(), stderr: stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			o.code = ee.ExitCode()
		}
		done <- o
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stderr.String(), "serving access tokens on"); time.Sleep(5 * time.Millisecond) {
		select {
		case o := <-done:
			t.Fatalf("serve ended before serving: %s", o)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start in 10s; stderr:\n%s", stderr)
		}
	}
	return stderr, func() outcome {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case o := <-done:
			return o
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop within 15s of SIGTERM")
		}
		return outcome{}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// testServeUnixCurl: curl over the socket gets -o json's body; the socket is
// 0600; other paths, methods and bodies are refused with JSON errors; SIGTERM
// ends it with exit 0 and removes the socket.
func testServeUnixCurl(t *testing.T, bin string) {
	curl := requireTool(t, "curl")
	p, tok := newIntegrationProfile(t, bin)
	sock := p.path("tk.sock")
	_, stop := startServe(t, p, "serve", "--socket", sock)
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode: %v %v, want 0600", fi.Mode(), err)
	}
	curlDo := func(args ...string) (status int, body string) {
		t.Helper()
		cmd := exec.Command(curl, append([]string{"-sS", "--unix-socket", sock, "-w", "\n%{http_code}"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %s: %v", strings.Join(args, " "), err)
		}
		s := string(out)
		i := strings.LastIndex(s, "\n")
		status, _ = strconv.Atoi(s[i+1:])
		return status, s[:i]
	}
	status, body := curlDo("http://localhost/token")
	var j map[string]string
	if err := json.Unmarshal([]byte(body), &j); status != 200 || err != nil || j["access_token"] != tok.AccessToken || j["expires_at"] != tok.Expiry.UTC().Format(time.RFC3339) {
		t.Errorf("GET /token: %d %s", status, body)
	}
	want, _ := exec.Command(bin, "--dir", p.dir, "token", "-o", "json").Output()
	if body != string(want) {
		t.Errorf("GET /token differs from token -o json:\n%s\n%s", body, want)
	}
	for _, c := range []struct {
		args   []string
		status int
	}{
		{[]string{"http://localhost/"}, 404},
		{[]string{"http://localhost/token/x"}, 404},
		{[]string{"-X", "POST", "http://localhost/token"}, 405},
		{[]string{"-X", "GET", "--data-binary", "x", "http://localhost/token"}, 413},
		{[]string{"-X", "GET", "-H", "Transfer-Encoding: chunked", "--data-binary", "x", "http://localhost/token"}, 413},
	} {
		status, body := curlDo(c.args...)
		var e serveError
		if status != c.status || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("curl %s: %d %s, want %d and a JSON error", strings.Join(c.args, " "), status, body, c.status)
		}
	}
	o := stop()
	if o.code != 0 {
		t.Errorf("serve after SIGTERM: %s, want exit 0", o)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket is still there after SIGTERM (%v)", err)
	}
}

// testServeStampede: many clients at once on an expired token, one renewal.
func testServeStampede(t *testing.T, bin string) {
	p, first := newIntegrationProfile(t, bin)
	sock := p.path("tk.sock")
	_, stop := startServe(t, p, "serve", "--socket", sock)
	p.expire()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
		DisableKeepAlives: true,
	}}
	const n = 100
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := client.Get("http://tokenkeeper/token")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var j tokenJSON
			if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != 200 {
				t.Errorf("client %d: %d %v", i, resp.StatusCode, err)
			}
			got[i] = j.AccessToken
		})
	}
	wg.Wait()
	renewed, _ := p.load()
	for i, g := range got {
		if g != renewed.AccessToken || g == first.AccessToken {
			t.Fatalf("client %d did not get the renewed token", i)
		}
	}
	if c := p.srv.Count("refresh_token"); c != 1 {
		t.Errorf("%d clients on an expired token made %d renewals, want 1", n, c)
	}
	if o := stop(); o.code != 0 {
		t.Errorf("serve: %s", o)
	}
}

// testServeLoopback: the TCP form wants the bearer secret from the secret
// file, which is 0600 and removed at the end; only loopback addresses.
func testServeLoopback(t *testing.T, bin string) {
	p, tok := newIntegrationProfile(t, bin)
	secretFile := p.path("serve.secret")
	stderr, stop := startServe(t, p, "serve", "--listen", "127.0.0.1:0", "--secret-file", secretFile)
	m := regexp.MustCompile(`http://(127\.0\.0\.1:\d+)/token`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no address in serve's output:\n%s", stderr)
	}
	fi, err := os.Stat(secretFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v, want mode 0600", fi, err)
	}
	data, _ := os.ReadFile(secretFile)
	secret := strings.TrimSpace(string(data))
	if strings.Contains(stderr.String(), secret) {
		t.Error("serve printed its bearer secret")
	}
	closed := false // whether the last answer closed its connection
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+m[1]+"/token", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		closed = resp.Close
		return resp.StatusCode, string(b)
	}
	// A refused client gets its connection closed: it cannot hold one of
	// serve's connection slots by asking again within the idle timeout.
	for _, auth := range []string{"", "Bearer wrong", "Basic " + secret, "Bearer " + secret + "x"} {
		if status, body := get(auth); status != 401 || strings.Contains(body, tok.AccessToken) || !closed {
			t.Errorf("Authorization %q: %d (connection closed: %v), want 401, no token and the connection closed", auth, status, closed)
		}
	}
	if status, body := get("Bearer " + secret); status != 200 || !strings.Contains(body, tok.AccessToken) || closed {
		t.Errorf("with the secret: %d %s", status, body)
	}
	// The scheme is case-insensitive (RFC 7235 §2.1), as curl users write it.
	curl := requireTool(t, "curl")
	for _, scheme := range []string{"bearer", "BEARER", "bEaReR"} {
		hdr := p.path("auth-header")
		if err := os.WriteFile(hdr, []byte("Authorization: "+scheme+" "+secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(curl, "-sS", "-H", "@"+hdr, "-w", "\n%{http_code}", "http://"+m[1]+"/token").Output()
		if err != nil || !strings.HasSuffix(string(out), "\n200") || !strings.Contains(string(out), tok.AccessToken) {
			t.Errorf("curl with Authorization: %s SECRET: %v, want 200 and the token:\n%.200s", scheme, err, out)
		}
	}
	if o := stop(); o.code != 0 {
		t.Errorf("serve: %s", o)
	}
	if _, err := os.Stat(secretFile); !os.IsNotExist(err) {
		t.Errorf("the secret file is still there after SIGTERM (%v)", err)
	}
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:8080", "example.com:80", "8080"} {
		if o := p.run(p.command("serve", "--listen", addr)); o.code != exitUsage {
			t.Errorf("serve --listen %s: %s, want exit 2", addr, o)
		}
	}
}

// testNoFormatLeaks: no format — token's, git-credential's, serve's — prints
// the refresh token, the client secret or the company request token, on
// stdout or stderr, whether the token was valid or renewed on the way.
func testNoFormatLeaks(t *testing.T, bin string) {
	p, _ := newIntegrationProfile(t, bin)
	var outputs []string
	secrets := map[string]bool{fakeClientSecret: true, fakeRequestToken: true}
	collect := func(o outcome) {
		outputs = append(outputs, o.stdout, o.stderr)
		tok, _ := p.load()
		secrets[tok.RefreshToken] = true
	}
	for _, expired := range []bool{false, true} {
		for _, f := range tokenFormats {
			if expired {
				p.expire()
			}
			collect(p.mustRun("-v", "token", "-o", f))
		}
		if expired {
			p.expire()
		}
		cmd := p.command("-v", "git-credential", "get")
		cmd.Stdin = strings.NewReader("protocol=https\nhost=h\n\n")
		collect(p.run(cmd))
	}
	sock := p.path("tk.sock")
	stderr, stop := startServe(t, p, "-v", "serve", "--socket", sock)
	p.expire()
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	for _, path := range []string{"/token", "/nope"} {
		resp, err := client.Get("http://x" + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(bufio.NewReader(resp.Body))
		resp.Body.Close()
		outputs = append(outputs, string(b))
	}
	tok, _ := p.load()
	secrets[tok.RefreshToken] = true
	o := stop()
	outputs = append(outputs, stderr.String(), o.stdout)
	if len(secrets) < 4 {
		t.Fatalf("only %d distinct secrets: the refresh tokens did not rotate, the test proves less", len(secrets))
	}
	for s := range secrets {
		if i := slices.IndexFunc(outputs, func(out string) bool { return strings.Contains(out, s) }); i >= 0 {
			t.Errorf("output %d holds a secret (%d chars):\n%s", i, len(s), strings.ReplaceAll(outputs[i], s, "[SECRET]"))
		}
	}
}

// testServeErrors: when no token can be had, the answer is a JSON error whose
// kind says what to do, as the exit codes do: retry (503, Retry-After) for an
// endpoint that is down, reauth when the grant is dead, credentials when
// credentials.json is gone (read again after a refusal: serve outlives edits).
func testServeErrors(t *testing.T, bin string) {
	p, _ := newIntegrationProfile(t, bin)
	sock := p.path("tk.sock")
	_, stop := startServe(t, p, "--timeout", "1s", "serve", "--socket", sock)
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	get := func() (int, http.Header, serveError) {
		t.Helper()
		resp, err := client.Get("http://x/token")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e serveError
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("answer is not JSON: %v", err)
		}
		return resp.StatusCode, resp.Header, e
	}

	p.expire()
	for range 20 {
		p.srv.Fail(fakeserver.Fault{Status: 503})
	}
	status, h, e := get()
	if status != 503 || h.Get("Retry-After") == "" || e.Kind != "retry" || e.Error == "" {
		t.Errorf("endpoint down: %d %v, want 503 with Retry-After and kind retry", status, e)
	}
	// serve, not cron, tries again: on the next request.
	if strings.Contains(e.Hint, "cron") || !strings.HasSuffix(e.Hint, "; serve tries again on the next request") {
		t.Errorf("endpoint down: hint %q, want serve's own retry, not cron's", e.Hint)
	}
	p.srv.RevokeRefreshTokens()
	p.srv.SetRequestToken("changed-by-the-admin")
	p.expire()
	for n := p.srv.PendingFaults(); n > 0; n = p.srv.PendingFaults() {
		get() // use up the 503s still queued
	}
	if status, _, e := get(); status != 403 || e.Kind != "reauth" || e.Hint == "" {
		t.Errorf("grant dead: %d %+v, want 403 and kind reauth with a hint", status, e)
	}

	os.Remove(p.path("credentials.json"))
	if status, _, e := get(); status != 403 || e.Kind != "credentials" {
		t.Errorf("credentials.json gone: %d %+v, want 403 and kind credentials", status, e)
	}
	if o := stop(); o.code != 0 {
		t.Errorf("serve: %s", o)
	}
}
