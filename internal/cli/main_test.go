package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/testkeys"
)

// TestMain runs the tests; the test binary is also the browser of the login
// tests and scripts (it then plays a person at the provider and exits).
func TestMain(m *testing.M) {
	// The login tests set $BROWSER to this test binary: it then plays a person
	// at the in-process OpenID provider (see login_test.go).
	if action := os.Getenv(browserActionEnv); action != "" {
		os.Exit(scriptedBrowser(action))
	}
	if os.Getenv(fakeBrowserEnv) != "" {
		os.Exit(fakeBrowser())
	}
	flag.Parse()
	setParallelDefault()
	code := m.Run()
	removeBuilt()
	os.Exit(code)
}

// The binary under test is built once for the package's tests (go build, in
// a directory TestMain removes at the end); scripts find it on their $PATH,
// tests run the file. It comes in two kinds, the same build unless the tests
// run under the race detector:
//
//   - tokenkeeperBinary is built as this test binary was: with -race under
//     go test -race, so that the binary's own goroutines (serve, watch, a
//     refresh's lock keep-alive) are checked wherever a script or a test of one
//     process at a time runs it;
//   - buildTokenkeeper is for the tests that run many processes at once: a
//     plain build unless GOFLAGS asks for -race. What they check is between
//     processes (flock, rename, the endpoint's counts), which the race detector
//     cannot see, and fifty race-instrumented processes would make them slow
//     on a small machine without adding anything (in-process concurrency is
//     covered by the refresh package's tests).
//
// Neither is built with -cover: go test -cover counts only the test binary's
// own counters (it drops those of any other executable), so a script's run
// does not count towards the package's coverage.
var builds [2]struct { // [0] plain, [1] with the race detector
	once      sync.Once
	dir, bin  string
	skip, err string
}

// tokenkeeperBinary returns the binary of the kind of this test binary.
func tokenkeeperBinary(tb testing.TB) string {
	tb.Helper()
	return builtBinary(tb, raceEnabled)
}

// buildTokenkeeper returns the binary for tests of many processes.
func buildTokenkeeper(tb testing.TB) string {
	tb.Helper()
	return builtBinary(tb, strings.Contains(os.Getenv("GOFLAGS"), "-race"))
}

// builtBinary returns the binary, with the race detector or not, building it
// on the first call.
func builtBinary(tb testing.TB, race bool) string {
	tb.Helper()
	b := &builds[0]
	if race {
		b = &builds[1]
	}
	b.once.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			b.skip = fmt.Sprintf("no go command to build the binary: %v", err)
			return
		}
		if b.dir, err = os.MkdirTemp("", "tokenkeeper-test-bin-"); err != nil {
			b.err = err.Error()
			return
		}
		bin := filepath.Join(b.dir, "tokenkeeper")
		if runtime.GOOS == "windows" {
			bin += ".exe"
		}
		cmd := exec.Command(gobin, "build", "-o", bin)
		cmd.Env = os.Environ()
		if race {
			cmd.Args = append(cmd.Args, "-race")
		} else {
			cmd.Env = append(cmd.Env, "CGO_ENABLED=0") // as released
		}
		cmd.Args = append(cmd.Args, "github.com/tokenkeeper/tokenkeeper")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Sprintf("go build: %v\n%s", err, out)
			return
		}
		b.bin = bin
	})
	switch {
	case b.skip != "":
		tb.Skip(b.skip)
	case b.err != "":
		tb.Fatal(b.err)
	}
	return b.bin
}

// removeBuilt removes the binaries once the tests are over.
func removeBuilt() {
	for i := range builds {
		if builds[i].dir != "" {
			os.RemoveAll(builds[i].dir)
		}
	}
}

// parallelPerCPU is how many tests marked t.Parallel run at once per CPU
// when -parallel is not given (go test's default is one per CPU): most of
// this package's tests wait on child processes, servers and the clock, not
// on the CPU.
const parallelPerCPU = 4

// setParallelDefault sets -test.parallel to parallelPerCPU per CPU, unless
// the command line gave -parallel, or -fuzz (where -parallel is the number
// of fuzzing processes, kept at go test's default).
func setParallelDefault() {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" || f.Name == "test.fuzz" })
	if f := flag.Lookup("test.parallel"); f != nil && !given {
		f.Value.Set(strconv.Itoa(parallelPerCPU * runtime.GOMAXPROCS(0)))
	}
}

// fakeBrowserEnv makes this test binary fakeBrowser: scripts get it set, and
// $FAKEBROWSER, the test binary's path, to use as $BROWSER.
const fakeBrowserEnv = "TKTEST_FAKE_BROWSER"

// fakeBrowser is $BROWSER for scripts that log in at the fake endpoint: it
// opens the URL, its only argument, and follows the redirects, as a person
// already logged in at the provider would (the fake's authorization endpoint
// approves at once and redirects to login's loopback listener).
func fakeBrowser() int {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "fakebrowser: want the URL as the only argument, got %q\n", os.Args[1:])
		return 2
	}
	resp, err := http.Get(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakebrowser: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "fakebrowser: %s\n", resp.Status)
		return 1
	}
	return 0
}

// Fake client credentials known to every script. The scripts check that none of
// them ever appears in output.
const (
	fakeClientID     = "script-app-id"
	fakeClientSecret = "script-client-secret-6d1f"
	fakeCompanyUUID  = "script-company-uuid"
	fakeRequestToken = "script-request-token-93ab"
)

// TestScripts runs the CLI scripts in testdata/script (beside this file): each gets a fresh fake
// token endpoint (the `fake` command drives it) and $TOKEN_URL, and the
// binary on its $PATH as "tokenkeeper".
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, scriptParams("testdata/script", tokenkeeperBinary(t)))
}

func scriptParams(dir, bin string) testscript.Params {
	browser, err := os.Executable()
	return testscript.Params{
		Dir: dir,
		Setup: func(env *testscript.Env) error {
			if err != nil {
				return err
			}
			env.Setenv("PATH", filepath.Dir(bin)+string(os.PathListSeparator)+env.Getenv("PATH"))
			env.Setenv("FAKEBROWSER", browser)
			env.Setenv(fakeBrowserEnv, "1")
			h := &fakeHolder{}
			h.start(env.Setenv, fakeserver.Options{})
			env.Values["fake"] = h
			env.Defer(h.close)
			// The race runtime sleeps 1 s at exit by default: every command would
			// take a second, and short-lived tokens would expire between steps.
			env.Setenv("GORACE", "atexit_sleep_ms=0 "+os.Getenv("GORACE"))
			env.Setenv("CLIENT_SECRET", fakeClientSecret)
			env.Setenv("REQUEST_TOKEN", fakeRequestToken)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"fake":        cmdFake,
			"tokenfield":  cmdTokenField,
			"exits":       cmdExits,
			"mkprofiles":  cmdMkProfiles,
			"unavailable": cmdUnavailable,
			"clientkey":   cmdClientKey,
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				time.Sleep(d)
			},
		},
		// [file:PATH]: PATH exists (bash-completion's script, which is no
		// command for [exec:…] to find).
		Condition: func(cond string) (bool, error) {
			path, ok := strings.CutPrefix(cond, "file:")
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			_, err := os.Stat(path)
			return err == nil, nil
		},
		RequireExplicitExec: false,
	}
}

type fakeHolder struct{ srv *fakeserver.Server }

func (h *fakeHolder) start(setenv func(k, v string), o fakeserver.Options) {
	h.close()
	o.ClientID, o.ClientSecret = fakeClientID, fakeClientSecret
	o.CompanyUUID, o.RequestToken = fakeCompanyUUID, fakeRequestToken
	h.srv = fakeserver.New(o)
	setenv("TOKEN_URL", h.srv.TokenURL())
	setenv("FAKE_URL", h.srv.URL())
	setenv("FAKE_HOSTPORT", strings.TrimPrefix(h.srv.URL(), "http://")) // a port in use
}

func (h *fakeHolder) close() {
	if h.srv != nil {
		h.srv.Close()
	}
}

// cmdFake drives the script's fake token endpoint:
//
//	fake start [ttl=DUR] [refresh-ttl=DUR|none] [style=concur|keycloak|dex] [rotate] [auth=params|header] [jwt] [no-expires-in] [granted-scope=SCOPE] [key=KIND [kid=ID]]
//	fake creds PATH [field=value…]   write credentials.json for this endpoint
//	                                 (a login: authURL=$FAKE_URL/authorize, BROWSER=$FAKEBROWSER;
//	                                 $FAKE_HOSTPORT is its host:port, a port in use)
//	fake count GRANT|all N           assert how many requests it received
//	fake revoke                      revoke every refresh token
//	fake request-token VALUE         change the company request token it accepts
//	fake fail STATUS [BODY] [retry-after=S] [www-authenticate=CHALLENGE] [content-type=TYPE]  queue one fault
//	fake hang | fake reset | fake huge BYTES  queue one such fault
//	fake patch KEY=JSON|KEY=-|KEY=bytes:N…   serve the next grant, then edit its success body
//	                                         (raw JSON as given; - removes; a string of N bytes)
func cmdFake(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fake")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: fake start|creds|count|revoke|request-token|fail|hang|reset|huge|patch")
	}
	h := ts.Value("fake").(*fakeHolder)
	switch args[0] {
	case "start":
		h.start(ts.Setenv, fakeOptions(ts, args[1:]))
	case "creds":
		writeCreds(ts, h, args[1:])
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: fake count GRANT|all N")
		}
		grant := args[1]
		if grant == "all" {
			grant = ""
		}
		want, _ := strconv.Atoi(args[2])
		if got := h.srv.Count(grant); got != want {
			ts.Fatalf("token endpoint saw %d %s requests, want %d", got, args[1], want)
		}
	case "revoke":
		h.srv.RevokeRefreshTokens()
	case "request-token":
		h.srv.SetRequestToken(args[1])
	case "fail":
		h.srv.Fail(fakeFault(ts, args[1:]))
	case "hang":
		h.srv.Fail(fakeserver.Fault{Hang: true})
	case "reset":
		h.srv.Fail(fakeserver.Fault{Reset: true})
	case "huge":
		n, _ := strconv.Atoi(args[1])
		h.srv.Fail(fakeserver.Fault{HugeBody: n})
	case "patch":
		h.srv.Fail(fakeserver.Fault{Fields: patchFields(ts, args[1:])})
	default:
		ts.Fatalf("fake: unknown subcommand %q", args[0])
	}
}

func fakeOptions(ts *testscript.TestScript, args []string) fakeserver.Options {
	var o fakeserver.Options
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		var err error
		switch k {
		case "ttl":
			o.AccessTTL, err = time.ParseDuration(v)
		case "refresh-ttl":
			if v == "none" {
				o.RefreshTTL = fakeserver.NoRefreshExpiry
			} else {
				o.RefreshTTL, err = time.ParseDuration(v)
			}
		case "style":
			o.Style = v
		case "rotate":
			o.Rotate = true
		case "auth":
			o.AuthStyle = v
		case "jwt":
			o.JWTAccessTokens = true
		case "no-expires-in":
			o.OmitExpiresIn = true
		case "granted-scope":
			o.GrantedScope = v
		case "key": // the client authenticates with private_key_jwt, by testkeys' key of kind v
			o.ClientKey = testkeys.Key(v).Public()
		case "kid":
			o.ClientKeyID = v
		default:
			ts.Fatalf("fake start: unknown option %q", a)
		}
		ts.Check(err)
	}
	return o
}

// patchFields reads fake patch's KEY=JSON arguments.
func patchFields(ts *testscript.TestScript, args []string) map[string]json.RawMessage {
	if len(args) == 0 {
		ts.Fatalf("usage: fake patch KEY=JSON|KEY=-|KEY=bytes:N…")
	}
	fields := map[string]json.RawMessage{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("fake patch: %q is not KEY=VALUE", a)
		}
		switch n, isBytes := strings.CutPrefix(v, "bytes:"); {
		case v == "-":
			fields[k] = nil
		case isBytes:
			size, err := strconv.Atoi(n)
			ts.Check(err)
			fields[k], _ = json.Marshal(strings.Repeat("x", size))
		default:
			fields[k] = json.RawMessage(v)
		}
	}
	return fields
}

func fakeFault(ts *testscript.TestScript, args []string) fakeserver.Fault {
	if len(args) == 0 {
		ts.Fatalf("usage: fake fail STATUS [BODY] [retry-after=S] [www-authenticate=CHALLENGE] [content-type=TYPE]")
	}
	status, err := strconv.Atoi(args[0])
	ts.Check(err)
	f := fakeserver.Fault{Status: status, Header: http.Header{}}
	for _, a := range args[1:] {
		if v, ok := strings.CutPrefix(a, "retry-after="); ok {
			f.Header.Set("Retry-After", v)
			continue
		}
		if v, ok := strings.CutPrefix(a, "www-authenticate="); ok {
			f.Header.Set("WWW-Authenticate", v)
			continue
		}
		if v, ok := strings.CutPrefix(a, "content-type="); ok {
			f.ContentType = v
			continue
		}
		f.Body = a
	}
	return f
}

// writeCreds writes a credentials.json that works with the fake endpoint, with
// field=value overrides (field=- removes the field).
func writeCreds(ts *testscript.TestScript, h *fakeHolder, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: fake creds PATH [field=value…]")
	}
	c := map[string]string{
		"tokenURL": h.srv.TokenURL(), "grantType": "password",
		"appID": fakeClientID, "clientSecret": fakeClientSecret,
		"companyUUID": fakeCompanyUUID, "companyRequestToken": fakeRequestToken,
		"credentialType": "authtoken", "authStyle": "params",
	}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		if v == "-" {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	data, err := json.MarshalIndent(c, "", "  ")
	ts.Check(err)
	path := ts.MkAbs(args[0])
	ts.Check(os.MkdirAll(dirOf(path), 0o700))
	ts.Check(os.WriteFile(path, data, 0o600))
	ts.Check(os.Chmod(path, 0o600)) // WriteFile keeps the mode of an existing file
}

func dirOf(p string) string {
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return "."
}

// cmdTokenField compares a field of a token file with a value or another file's:
//
//	tokenfield FILE KEY == VALUE        tokenfield FILE KEY != OTHERFILE:KEY
//	tokenfield FILE KEY present
func cmdTokenField(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 3 {
		ts.Fatalf("usage: tokenfield FILE KEY present | == VALUE | != FILE:KEY")
	}
	got := readTokenField(ts, args[0], args[1])
	var ok bool
	switch args[2] {
	case "present":
		ok = got != ""
	case "==", "!=":
		want := args[3]
		if f, k, found := strings.Cut(want, ":"); found && !strings.Contains(f, "/") && strings.HasSuffix(f, ".json") {
			want = readTokenField(ts, f, k)
		}
		ok = (got == want) == (args[2] == "==")
	}
	if ok == neg {
		ts.Fatalf("tokenfield %s: condition not met (value hidden: it may be a secret)", strings.Join(args, " "))
	}
}

func readTokenField(ts *testscript.TestScript, file, key string) string {
	var m map[string]any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(file)), &m))
	if v, ok := m[key]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

// cmdExits runs a command and asserts its exit code, which is the contract with
// cron wrappers: exits N CMD ARGS… (stdout and stderr are then checked as usual).
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N CMD [ARGS…]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

// cmdClientKey writes testkeys' private key of a kind (the one `fake start
// key=KIND` knows), as PEM, with a mode: clientkey PATH KIND MODE.
func cmdClientKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: clientkey PATH KIND MODE")
	}
	mode, err := strconv.ParseUint(args[2], 8, 32)
	ts.Check(err)
	path := ts.MkAbs(args[0])
	ts.Check(os.WriteFile(path, testkeys.PEM(testkeys.Key(args[1])), os.FileMode(mode)))
	ts.Check(os.Chmod(path, os.FileMode(mode)))
}
