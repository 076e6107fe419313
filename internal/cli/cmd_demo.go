package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// demoTTL is the life of the demo endpoint's access tokens: short enough to watch
// one expire, long enough that the margin (capped at half of it) leaves room.
const demoTTL = 4 * time.Second

// cmdDemo runs the whole lifecycle against an in-process token endpoint in a
// temporary directory, through the same code as the real commands, narrating.
func demoCommand() *command {
	return &command{
		name: "demo", args: "[options]", summary: "the whole lifecycle against a built-in token endpoint",
		long: `Show the whole lifecycle in a few seconds against a token endpoint inside this
process, in a temporary directory: the first-run template, the first grant,
expiry, a refresh with rotation, a revoked refresh token recovered by a new
grant. No account is needed.

With --serve, run that endpoint on 127.0.0.1 until interrupted (SIGINT or
SIGTERM, exit 0) and print on stdout a credentials.json that works against it,
then on stderr how to use it. It serves discovery from its issuer, the
password and client credentials grants, refresh with rotation, authorization
code with PKCE behind a consent page, and the device grant with a page that
approves a user code; access tokens live 2 minutes. --grant picks the grant of
the printed document: password (refresh and token work at once),
client_credentials, authorization_code or device_code (for login). --fail makes
it fail from the start, and POST /demo/fail with mode=MODE (curl -d
mode=refuse URL/demo/fail; none ends it) once a grant works: refuse (every
grant no person starts is refused: refresh exits 77), dead-refresh (refresh
tokens only: a password grant is got again, a login grant exits 77), outage
(503: refresh exits 75 once the access token must be renewed). It binds
loopback only: --listen takes a loopback IP address and port, and refuses
anything else with exit 2. Secrets are new at each start; everything lives in
memory.`,
		example: `tokenkeeper demo
tokenkeeper demo --keep
tokenkeeper demo --serve > ~/tk-demo/credentials.json
tokenkeeper demo --serve --grant authorization_code --listen 127.0.0.1:8400
tokenkeeper demo --serve --fail outage`,
		noPaths: true,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			var keep bool
			var so demoServeOptions
			fs.BoolVar(&keep, "keep", false, "keep the temporary directory and print its path")
			fs.BoolVar(&so.serve, "serve", false, "run the demo endpoint on loopback until interrupted, print a credentials.json for it")
			fs.StringVar(&so.listen, "listen", "", "with --serve: the loopback `ADDR` to listen on (default 127.0.0.1 and a free port)")
			fs.StringVar(&so.grant, "grant", credentials.GrantPassword, "with --serve: the grantType of the printed document, `GRANT`: "+strings.Join(demoGrants, ", "))
			fs.StringVar(&so.fail, "fail", "", "with --serve: fail on demand, `MODE`: "+strings.Join(fakeserver.FailModes[:], ", "))
			_ = fs.SetAnnotation("grant", completeAnnotation, demoGrants)
			_ = fs.SetAnnotation("fail", completeAnnotation, fakeserver.FailModes[:])
			return func(a *app, args []string) int {
				if so.serve {
					if keep {
						return a.usageError("demo: --keep and --serve do not go together", "the served endpoint keeps no files: "+a.cmdLine("demo --serve"))
					}
					return a.demoServe(so)
				}
				for _, f := range []string{"listen", "grant", "fail"} {
					if fs.Changed(f) {
						return a.usageError("demo: --"+f+" goes with --serve", "run "+a.cmdLine("demo --serve --"+f+" …"))
					}
				}
				return a.cmdDemo(&keep)
			}
		},
	}
}

func (a *app) cmdDemo(keep *bool) int {
	dir, err := os.MkdirTemp("", "tokenkeeper-demo-")
	if err != nil {
		return a.fail(err)
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	srv := fakeserver.New(fakeserver.Options{
		ClientID: "demo-app-id", ClientSecret: "demo-client-secret",
		CompanyUUID: "demo-company-uuid", RequestToken: "demo-request-token-1",
		AccessTTL: demoTTL, Rotate: true,
	})
	defer srv.Close()
	d := &demo{a: a, dir: dir, srv: srv}
	code := d.script()
	fmt.Fprintf(a.stdout, "\nThe demo token endpoint saw %d requests: %d password grants, %d refresh grants.\n",
		srv.Count(""), srv.Count("password"), srv.Count("refresh_token"))
	if *keep {
		fmt.Fprintf(a.stdout, "The files are kept in %s\n", dir)
	}
	return code
}

type demo struct {
	a   *app
	dir string
	srv *fakeserver.Server
}

func (d *demo) script() int {
	w := d.a.stdout
	fmt.Fprintf(w, "tokenkeeper demo: a token endpoint runs at %s (in this process),\nand the files live in %s.\n", d.srv.URL(), d.dir)

	d.step("1. First run: there is no credentials.json yet, so tokenkeeper writes a template and exits 78.")
	if !d.expect(exitConfig) {
		return exitError
	}
	d.step("2. You fill in credentials.json (the demo does it for you; secrets are masked here).")
	if err := d.fillCredentials(); err != nil {
		return d.a.fail(err)
	}
	d.step("3. The next run has no token: it bootstraps with the company request token (grant_type=password).")
	if !d.expect(exitOK, "refresh") {
		return exitError
	}
	d.step("4. Scripts ask for the token; it is valid, so this is one read of one file and no request.")
	if !d.expect(exitOK, "token") {
		return exitError
	}
	before := d.refreshToken()
	wait := demoTTL/2 + 500*time.Millisecond
	d.step(fmt.Sprintf("5. Waiting %s: the demo endpoint's access tokens live %s, and tokenkeeper renews with at most half the lifetime left.", wait, demoTTL))
	time.Sleep(wait)
	if !d.expect(exitOK, "token") {
		return exitError
	}
	after := d.refreshToken()
	fmt.Fprintf(w, "   The refresh grant rotated the refresh token: %s → %s (stored, as Concur asks).\n", maskToken(before), maskToken(after))

	d.step("6. The provider revokes the refresh token. The next renewal is refused (invalid_grant) and tokenkeeper gets a new grant.")
	d.srv.RevokeRefreshTokens()
	if !d.expect(exitOK, "refresh", "--force") {
		return exitError
	}
	d.step("7. status shows where everything is and what to do; secrets are masked.")
	d.expect(exitOK, "status")
	d.step("8. The company request token goes stale too: now only a human can help, and the exit code (77) says so.")
	d.srv.SetRequestToken("demo-request-token-2")
	d.srv.RevokeRefreshTokens()
	if !d.expect(exitNeedsHuman, "refresh", "--force") {
		return exitError
	}
	what, line := demoSchedule(runtime.GOOS)
	fmt.Fprintf(w, "\nThat is the lifecycle. For your own endpoint: tokenkeeper setup (or tokenkeeper init), then %s:\n    %s\n", what, line)
	return exitOK
}

func (d *demo) step(s string) { fmt.Fprintf(d.a.stdout, "\n%s\n", s) }

// expect runs tokenkeeper --dir DIR ARGS… through the real command code and
// checks its exit code.
func (d *demo) expect(want int, args ...string) bool {
	fmt.Fprintf(d.a.stdout, "$ %s\n", strings.Join(append([]string{"tokenkeeper"}, args...), " "))
	argv := append([]string{"--dir", d.dir}, args...)
	got := run(d.a.ctx, argv, strings.NewReader(""), indent{d.a.stdout}, indent{d.a.stdout})
	fmt.Fprintf(d.a.stdout, "   (exit %d)\n", got)
	if got != want {
		d.a.message("error", fmt.Sprintf("demo: step exited %d, want %d", got, want), "this is a bug: please report it with the output above")
		return false
	}
	return true
}

func (d *demo) fillCredentials() error {
	path := filepath.Join(d.dir, credentials.FileName)
	c := &credentials.Credentials{
		TokenURL: d.srv.TokenURL(), GrantType: credentials.GrantPassword,
		AppID: "demo-app-id", ClientSecret: "demo-client-secret",
		CompanyUUID: "demo-company-uuid", CompanyRequestToken: "demo-request-token-1",
		CredentialType: "authtoken", AuthStyle: credentials.AuthParams,
	}
	if err := c.Save(path); err != nil {
		return err
	}
	for _, k := range []string{"tokenURL", "appID", "clientSecret", "companyUUID", "companyRequestToken"} {
		fmt.Fprintf(d.a.stdout, "   %-20s %s\n", k, c.Redacted()[k])
	}
	return nil
}

func (d *demo) refreshToken() string {
	m := &refresh.Manager{}
	m.Paths.TokenFile = filepath.Join(d.dir, storage.TokenFileName)
	if tok, err := m.Load(); err == nil && tok != nil {
		return tok.RefreshToken
	}
	return ""
}

// indent writes each line of the inner commands' output indented under its "$".
type indent struct {
	w interface{ Write([]byte) (int, error) }
}

func (i indent) Write(p []byte) (int, error) {
	s := strings.TrimSuffix(string(p), "\n")
	for _, line := range strings.Split(s, "\n") {
		fmt.Fprintf(i.w, "   %s\n", line)
	}
	return len(p), nil
}
