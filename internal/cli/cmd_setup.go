package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/prompt"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// setupOpts are setup's own flags. values holds the fields given by flag,
// environment or stdin, by canonical name.
type setupOpts struct {
	preset, region, realm string
	noInput, wait         bool
	values                map[string]string
	fromArgv              []string // secret flags given a value in argv, for a warning
	stdinUsed             bool     // a secret was read from stdin: no prompting after that
}

func (a *app) setupFlags(args []string) (*setupOpts, int) {
	o := &setupOpts{values: map[string]string{}}
	fs := newFlags("setup")
	fs.StringVar(&o.preset, "preset", "", "")
	fs.StringVar(&o.region, "region", "", "")
	fs.StringVar(&o.realm, "realm", "", "")
	fs.BoolVar(&o.noInput, "no-input", false, "")
	fs.BoolVar(&o.wait, "wait", false, "")
	raw := map[string]*string{}
	for _, f := range setupFields {
		raw[f.name] = fs.String(f.flag, "", "")
	}
	if code := a.parseFlags(fs, args, 0); code >= 0 {
		return nil, code
	}
	given := map[string]bool{}
	dashes := 0
	fs.Visit(func(f *flag.Flag) {
		given[f.Name] = true
		if f.Value.String() == "-" {
			dashes++
		}
	})
	if dashes > 1 {
		return nil, a.usageError("setup: only one value can be read from stdin (-)",
			"give the other secrets in TOKENKEEPER_CLIENT_SECRET, TOKENKEEPER_COMPANY_REQUEST_TOKEN or TOKENKEEPER_REFRESH_TOKEN")
	}
	for _, f := range setupFields {
		if code := a.setupValue(o, f, *raw[f.name], given[f.flag]); code >= 0 {
			return nil, code
		}
	}
	return o, -1
}

// setupValue takes one field from its flag, or for a secret from its
// environment variable; "-" reads the value from stdin, so that a
// provisioning script need not put a secret in argv.
func (a *app) setupValue(o *setupOpts, f setupField, v string, given bool) int {
	if !given && f.env != "" {
		v = a.getenv(f.env)
		given = v != ""
	}
	if !given {
		return -1
	}
	if v == "-" {
		p := &prompt.Prompter{In: a.stdin, Out: a.stderr, TTY: a.terminal()}
		read := p.Line
		if p.TTY != nil { // typed, not piped: no echo
			read = func(ctx context.Context) (string, error) { return p.Secret(ctx, f.name, "", nil) }
		}
		line, err := read(a.ctx)
		if err != nil {
			return a.usageError(fmt.Sprintf("setup: --%s -: read stdin: %v", f.flag, err), "pipe the value into tokenkeeper setup")
		}
		v, o.stdinUsed = line, true
	} else if f.secret && a.getenv(f.env) != v {
		o.fromArgv = append(o.fromArgv, f.flag)
	}
	o.values[f.name] = strings.TrimSpace(v)
	a.addSecrets(secretValues(o, f)...)
	return -1
}

func secretValues(o *setupOpts, f setupField) []string {
	if f.secret {
		return []string{o.values[f.name]}
	}
	return nil
}

// cmdSetup is the first-run wizard: on a terminal it asks for each field;
// otherwise it takes them from flags and never prompts. Then it saves
// credentials.json and does the first token exchange.
func (a *app) cmdSetup(args []string) int {
	o, code := a.setupFlags(args)
	if code >= 0 {
		return code
	}
	for _, f := range o.fromArgv {
		a.warn(fmt.Sprintf("--%s was given on the command line, where other users can see it (ps)", f),
			fmt.Sprintf("use %s=… or --%s - (read from stdin) instead", fieldFlagEnv(f), f))
	}
	path := a.paths.CredentialsFile
	c, existed, err := readCredentials(path)
	if err != nil {
		return a.fail(err)
	}
	before := *c
	if err := applyPreset(c, o.preset, o.region); err != nil {
		return a.usageError("setup: "+err.Error(), "run tokenkeeper -h")
	}
	o.apply(c)
	if o.wait {
		return a.setupWait(c, existed, before)
	}
	tty := a.terminal()
	switch {
	case tty != nil && !o.noInput && !o.stdinUsed:
		if err := a.wizard(c, o, tty, existed); err != nil {
			return a.setupAborted(err)
		}
	case !o.noInput && len(o.values) == 0 && o.preset == "":
		a.info("stdin is not a terminal, so setup will not ask questions")
	}
	if code := a.checkComplete(c, o); code >= 0 {
		return code
	}
	return a.setupFinish(c, existed, before)
}

func fieldFlagEnv(flagName string) string {
	for _, f := range setupFields {
		if f.flag == flagName {
			return f.env
		}
	}
	return ""
}

// apply copies the flag values over c; a Keycloak base URL and --realm make
// the realm's token URL.
func (o *setupOpts) apply(c *credentials.Credentials) {
	for name, v := range o.values {
		*fieldByName(name).ptr(c) = v
	}
	if o.realm != "" && (o.preset == "keycloak" || o.preset == "") {
		c.TokenURL = keycloakURL(c.TokenURL, o.realm)
	}
}

// readCredentials loads path for editing, complete or not. A missing file
// gives the template's values; a file that cannot be parsed is an error, so
// that it is never overwritten.
func readCredentials(path string) (c *credentials.Credentials, existed bool, err error) {
	data, err := storage.ReadFile(path) // never a FIFO's hang, never more than 1 MiB
	var rec *storage.RecordError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c, err := credentials.Parse(path, credentials.Template())
		return c, false, err
	case errors.As(err, &rec):
		return nil, false, err
	case err != nil:
		return nil, false, fmt.Errorf("credentials: %w", err)
	}
	c, err = credentials.Parse(path, data)
	return c, true, err
}

// terminal returns stdin when it is a terminal: setup asks questions only
// there, never of a pipe or /dev/null (cron, CI).
func (a *app) terminal() *os.File {
	f, ok := a.stdin.(*os.File)
	if ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

func (a *app) setupAborted(err error) int {
	if errors.Is(err, context.Canceled) {
		a.message("error", "setup interrupted; nothing was saved", "run tokenkeeper setup again to start where you left off")
		return exitError
	}
	if errors.Is(err, prompt.ErrNoInput) {
		a.message("error", "setup: the input ended before all questions were answered; nothing was saved",
			"run tokenkeeper setup on a terminal, or give every field as a flag with --no-input")
		return exitConfig
	}
	return a.fail(err)
}

// checkComplete ends a non-interactive setup whose fields are not all there
// with exit 78 and the flags that would fill them.
func (a *app) checkComplete(c *credentials.Credentials, o *setupOpts) int {
	err := c.Validate()
	if err == nil {
		return -1
	}
	var flags []string
	for _, name := range c.Missing() {
		f := fieldByName(name)
		if f.env != "" {
			flags = append(flags, fmt.Sprintf("%s=… (or --%s -)", f.env, f.flag))
		} else {
			flags = append(flags, "--"+f.flag)
		}
	}
	hints := []string{"fix the values given, or run tokenkeeper setup on a terminal"}
	if len(flags) > 0 {
		hints = []string{"give " + strings.Join(flags, ", "),
			"or run tokenkeeper setup on a terminal to be asked, or tokenkeeper setup --wait and edit " + a.paths.CredentialsFile}
	}
	a.message("error", strings.TrimPrefix(err.Error(), "credentials: "), hints...)
	return exitConfig
}

// setupFinish saves the credentials and does the first token exchange.
func (a *app) setupFinish(c *credentials.Credentials, existed bool, before credentials.Credentials) int {
	changed := !existed || !sameFields(c, &before)
	if changed {
		for _, w := range c.Warnings { // Save writes the known fields only
			a.warn(fmt.Sprintf("%s: %s; it is not kept when setup saves the file", c.Path, w))
		}
		if err := c.Save(a.paths.CredentialsFile); err != nil {
			return a.fail(&refresh.Error{Kind: refresh.KindUnexpected, Err: err, Msg: err.Error(),
				Hint: "check that the directory is writable, or choose another with --dir or --config-dir"})
		}
		fmt.Fprintf(a.stdout, "saved %s\n", c.Path)
	} else {
		fmt.Fprintf(a.stdout, "%s is unchanged\n", a.paths.CredentialsFile)
	}
	a.addSecrets(c.ClientSecret, c.CompanyRequestToken, c.RefreshToken)
	return a.firstExchange(c, firstExchangeOptions(c, &before, existed, changed))
}

// firstExchangeOptions decides how setup's exchange runs. Credentials that
// changed must be proved, so they get a new grant even when a stored token is
// still good (Regrant) — except a refresh_token grant whose refreshToken is
// the one already used: that one may be spent, so the stored grant is renewed
// instead (Force). Unchanged credentials change nothing: a valid stored token
// is shown as it is.
func firstExchangeOptions(c, before *credentials.Credentials, existed, changed bool) refresh.Options {
	switch {
	case !changed:
		return refresh.Options{}
	case c.GrantType == credentials.GrantRefreshToken && existed && c.RefreshToken == before.RefreshToken:
		return refresh.Options{Force: true}
	}
	return refresh.Options{Regrant: true}
}

func sameFields(x, y *credentials.Credentials) bool {
	for _, f := range setupFields {
		if *f.ptr(x) != *f.ptr(y) {
			return false
		}
	}
	return true
}

func (a *app) firstExchange(c *credentials.Credentials, o refresh.Options) int {
	m, err := a.manager("tokenkeeper setup", false, false)
	if err != nil {
		return a.fail(err)
	}
	m.Creds = c
	r, code := a.ensure(m, o)
	if code >= 0 {
		a.message("error", "the first token exchange failed; "+c.Path+" is saved",
			"fix what the message above says, then run tokenkeeper setup again (it keeps your answers)")
		return code
	}
	a.printSummary(r)
	a.printNext(r.Token)
	return exitOK
}

// printNext shows the cron line that keeps this profile's token alive, with
// the directories spelled out: cron's environment has no XDG variables.
func (a *app) printNext(t *refresh.Token) {
	exe, err := os.Executable()
	if err != nil {
		exe = "tokenkeeper"
	}
	env := fmt.Sprintf("TOKENKEEPER_CONFIG_DIR=%s TOKENKEEPER_STATE_DIR=%s",
		shellQuote(filepath.Dir(a.paths.ConfigDir)), shellQuote(filepath.Dir(a.paths.StateDir)))
	if a.g.dir != "" {
		env = "TOKENKEEPER_DIR=" + shellQuote(a.paths.ConfigDir)
	}
	profile := ""
	if a.paths.Profile != "default" {
		profile = " --profile " + shellQuote(a.paths.Profile)
	}
	fmt.Fprintf(a.stdout, "\nnext: keep it renewed from cron (crontab -e):\n")
	fmt.Fprintf(a.stdout, "*/30 * * * * %s %s%s refresh --quiet\n", env, shellQuote(exe), profile)
	if life := t.Expiry.Sub(t.ObtainedAt); !t.Expiry.IsZero() && life < 30*time.Minute {
		fmt.Fprintf(a.stdout, "(the access token lasts only %s: cron keeps the grant alive, and tokenkeeper token renews the access token on demand)\n", life.Round(time.Second))
	}
}

// shellQuote quotes s for a crontab line when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]#~%") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
