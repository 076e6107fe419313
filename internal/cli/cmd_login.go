package cli

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// loginOptions are login's flags, parsed.
type loginOptions struct {
	noBrowser bool          // print the authorization URL, open nothing
	device    bool          // the device grant, whatever grantType says
	wait      time.Duration // how long the person has; 0: the grant's default
}

func loginCommand() *command {
	return &command{
		name: "login", args: "[options]", summary: "log in at the provider: authorization code in a browser, or the device grant",
		long: `Start a grant that a person completes and save it as a bootstrap does. With
grantType authorization_code: PKCE, a one-shot listener on 127.0.0.1, the
authorization URL opened with $BROWSER (else the platform's opener) and always
printed on stderr. With grantType device_code, or --device: the verification URL
and user code on stderr, polled at the provider's interval; nothing is opened.
login reads nothing from stdin and needs no terminal.

Only grantType authorization_code and device_code log in (--device stands in
for the browser of an authorization_code profile); any other grant is refused
with 78 before anything is opened or sent.

Exit codes: 0 logged in, 77 refused (access_denied), 75 not finished
(expired_token, timed out, interrupted, or a browser answer refused with
nothing redeemed: run it again), 78 the provider refused the client or the
request, grantType does not log in, redirectURL's port is taken, or the
provider's device page is not one a person may be sent to, 2 no browser on
this host (use --device or --no-browser).`,
		example: `tokenkeeper --profile keycloak login
tokenkeeper --profile github login --device
ssh -L 8400:127.0.0.1:8400 host tokenkeeper login --no-browser`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			var o loginOptions
			fs.BoolVar(&o.noBrowser, "no-browser", false, "print the authorization URL, open nothing")
			fs.BoolVar(&o.device, "device", false, "use the device grant (RFC 8628) whatever grantType says")
			fs.Var(durationFlag{&o.wait}, "wait", "how long the person has to finish (`DUR`; default: the grant's)")
			return func(a *app, _ []string) int { return a.exit(a.login(o)) }
		},
	}
}

// login runs the profile's interactive grant, the one a person approves. It
// reads nothing from stdin and needs no terminal: everything it shows goes to
// stderr.
func (a *app) login(o loginOptions) error {
	a.rerun = "login"
	if o.device {
		a.rerun = "login --device"
	} else if o.noBrowser {
		a.rerun = "login --no-browser"
	}
	m, err := a.manager("tokenkeeper login", true, false)
	if err != nil {
		return err
	}
	// Before the browser is looked for: a grant no person starts has nothing
	// to open one for, and "no browser on this host" would hide that.
	if err := refresh.CheckLogin(m.Creds); err != nil {
		code, hint := a.exitOf(err)
		next := "to get a token with this grant, run " + a.cmdLine("refresh")
		if plan := m.Plan(); plan.Step == refresh.StepHuman && plan.Err != nil {
			// refresh would stop too (a spent seed): say what a person does instead.
			// The run that takes the fix is refresh's, not this login's.
			a.rerun = ""
			_, h := a.exitOf(plan.Err)
			next = "this grant needs a person first: " + h
		}
		return &cmdError{code, err.Error(), []string{hint, next}}
	}
	lo := refresh.LoginOptions{Device: o.device, Wait: o.wait,
		Notify: func(msg string) { a.message("info", msg) }}
	device := o.device || m.Creds.GrantType == credentials.GrantDeviceCode
	if !device && !o.noBrowser {
		open, ok := a.opener()
		if !ok {
			return &cmdError{exitUsage, "no browser on this host (neither DISPLAY, WAYLAND_DISPLAY nor BROWSER is set)", []string{
				"use the device grant, where the provider has one: " + a.cmdLine("login --device"),
				"or print the URL only and open it on this host's browser some other way (an SSH tunnel to the loopback port): " + a.cmdLine("login --no-browser")}}
		}
		lo.Open = open
	}
	r, err := m.Login(a.ctx, lo)
	if r != nil {
		a.warnAll(r.Warnings, r.Next)
	}
	if err != nil {
		return err
	}
	a.addSecrets(r.Token.AccessToken, r.Token.RefreshToken)
	what := "no refresh token: the provider gave an access token only; ask for the scope offline_access (or the provider's equivalent) in " + m.Creds.Path
	if slices.Contains(strings.Fields(m.Creds.Scope), "offline_access") {
		// OpenID Connect Core §11: a provider may grant offline_access only
		// when the login asks for consent (oidc-provider does; Google too).
		what = `no refresh token: the provider did not grant offline_access; many grant it only when the login asks for consent: add "authParams": {"prompt": "consent"} to ` + m.Creds.Path
	}
	if r.Token.RefreshToken != "" {
		what = "the refresh token is saved in " + a.paths.TokenFile
	}
	a.info("logged in: access token %s; %s", describeExpiry(time.Now(), r.Token.Expiry, "with unknown expiry"), what)
	if r.Token.RefreshToken == "" {
		a.warn(what)
	}
	a.warnSameClient(m.Creds, r.Token)
	a.printNext(r.Token)
	return nil
}

// opener is how the authorization URL is opened: $BROWSER with the URL as its
// only argument, else the platform's opener. ok is false on a host with no
// display and no $BROWSER (a server reached over SSH).
func (a *app) opener() (open func(string) error, ok bool) {
	if b := a.getenv("BROWSER"); b != "" {
		return startBrowser(b), true
	}
	switch runtime.GOOS {
	case "darwin":
		return startBrowser("open"), true
	case "windows":
		return startBrowser("rundll32", "url.dll,FileProtocolHandler"), true
	}
	if a.getenv("DISPLAY") == "" && a.getenv("WAYLAND_DISPLAY") == "" {
		return nil, false
	}
	return startBrowser("xdg-open"), true
}

// startBrowser starts name with the URL as its last argument and does not wait
// for it: a browser may run for hours. Its output is not ours to show. It gets
// the environment exec's command gets, without the access token: no secret
// of the profile's (secretFreeEnv).
func startBrowser(name string, args ...string) func(string) error {
	return func(u string) error {
		cmd := exec.Command(name, append(args, u)...)
		cmd.Env = secretFreeEnv(os.Environ())
		if err := cmd.Start(); err != nil {
			var ee *exec.Error
			if errors.As(err, &ee) {
				return ee.Err
			}
			return err
		}
		go cmd.Wait()
		return nil
	}
}
