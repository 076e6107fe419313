package cli

import (
	"errors"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// loginOptions are login's flags, parsed.
type loginOptions struct {
	noBrowser bool          // print the authorization URL, open nothing
	device    bool          // the device grant, whatever grantType says
	wait      time.Duration // how long the person has; 0: the grant's default
}

func (a *app) cmdLogin(args []string) int {
	fs := newFlags("login")
	var o loginOptions
	fs.BoolVar(&o.noBrowser, "no-browser", false, "")
	fs.BoolVar(&o.device, "device", false, "")
	fs.Var(durationFlag{&o.wait}, "wait", "")
	if code := a.parseFlags(fs, args, 0); code >= 0 {
		return code
	}
	return a.login(o)
}

// login runs the profile's interactive grant (SPEC §7). It reads nothing from
// stdin and needs no terminal: everything it shows goes to stderr.
func (a *app) login(o loginOptions) int {
	m, err := a.manager("tokenkeeper login", true, false)
	if err != nil {
		return a.fail(err)
	}
	lo := refresh.LoginOptions{Device: o.device, Wait: o.wait,
		Notify: func(msg string) { a.message("info", msg) }}
	device := o.device || m.Creds.GrantType == credentials.GrantDeviceCode
	if !device && !o.noBrowser {
		open, ok := a.opener()
		if !ok {
			a.message("error", "no browser on this host (neither DISPLAY, WAYLAND_DISPLAY nor BROWSER is set)",
				"use the device grant, where the provider has one: "+a.commandLine("login --device"),
				"or print the URL only and open it on this host's browser some other way (an SSH tunnel to the loopback port): "+a.commandLine("login --no-browser"))
			return exitUsage
		}
		lo.Open = open
	}
	r, err := m.Login(a.ctx, lo)
	if r != nil {
		a.warnAll(r.Warnings)
	}
	if err != nil {
		return a.fail(err)
	}
	a.addSecrets(r.Token.AccessToken, r.Token.RefreshToken)
	what := "no refresh token: the provider gave an access token only; ask for the scope offline_access (or the provider's equivalent) in " + m.Creds.Path
	if r.Token.RefreshToken != "" {
		what = "the refresh token is saved in " + a.paths.TokenFile
	}
	a.info("logged in: access token %s; %s", describeExpiry(time.Now(), r.Token.Expiry, "with unknown expiry"), what)
	if r.Token.RefreshToken == "" {
		a.warn(what)
	}
	a.printNext(r.Token)
	return exitOK
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
// for it: a browser may run for hours. Its output is not ours to show.
func startBrowser(name string, args ...string) func(string) error {
	return func(u string) error {
		cmd := exec.Command(name, append(args, u)...)
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

// commandLine is "tokenkeeper" with the global options that chose this profile
// and its files, then cmd: what a hint tells the user to paste.
func (a *app) commandLine(cmd string) string {
	var b strings.Builder
	b.WriteString("tokenkeeper")
	for _, f := range []struct{ name, v string }{
		{"profile", a.g.profile}, {"dir", a.g.dir}, {"config-dir", a.g.configDir}, {"state-dir", a.g.stateDir},
	} {
		if f.v != "" {
			b.WriteString(" --" + f.name + " " + shellQuote(f.v))
		}
	}
	return b.String() + " " + cmd
}
