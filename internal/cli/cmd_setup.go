package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/spf13/pflag"
	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/prompt"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// setupOpts are setup's own flags. values holds the fields given by flag,
// environment or stdin, by canonical name.
type setupOpts struct {
	preset, region, realm string
	domain, tenant        string // the login presets' one answer (okta, auth0; entra)
	noInput, wait         bool
	values                map[string]string
	fromArgv              []string // secret flags given a value in argv, for a warning
	stdinUsed             bool     // a secret was read from stdin: no prompting after that
}

func setupCommand() *command {
	return &command{
		name: "setup", args: "[options]", summary: "first-run wizard: asks on a terminal, else takes flags",
		long: `Set up credentials.json and do the first token exchange. On a terminal, setup
asks for each field in turn (secrets without echo), checks each answer, saves
the file 0600 and shows the result and how to renew it every 30 minutes with
the platform's scheduler (a cron line; on Windows a schtasks line; on macOS a
LaunchAgent). Without a terminal, or with
--no-input, it never asks: every field is a flag, and whatever is missing ends
the run with exit 78 and the flags that would fill it. Keep secrets out of argv:
give them in their environment variables (TOKENKEEPER_CLIENT_SECRET, …: see
each flag), or "-" to read one from stdin.`,
		example: `tokenkeeper setup
tokenkeeper setup --preset keycloak --token-url https://sso.example.com --realm iot
tokenkeeper setup --wait
tokenkeeper --profile okta setup --no-input --preset okta --domain dev-123.okta.com --app-id 0oa1…
vault read -field=token secret/concur | tokenkeeper setup --no-input --preset concur \
    --region eu --app-id 0a1b… --company-uuid 4e5f… --company-request-token -`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			o := &setupOpts{values: map[string]string{}}
			fs.StringVar(&o.preset, "preset", "", "provider: "+credentials.PresetNames())
			fs.StringVar(&o.region, "region", "", "Concur region (us, eu, cn, us-impl, eu-impl, usg) or a full token URL")
			fs.StringVar(&o.realm, "realm", "", "Keycloak realm; --token-url is then the server's base URL")
			fs.StringVar(&o.domain, "domain", "", "Okta or Auth0 domain, e.g. dev-123.okta.com")
			fs.StringVar(&o.tenant, "tenant", "", "Microsoft Entra ID tenant (ID or domain)")
			fs.BoolVar(&o.noInput, "no-input", false, "never ask, even on a terminal")
			fs.BoolVar(&o.wait, "wait", false, "write the template, then wait until the file is filled in")
			raw := map[string]*string{}
			for _, f := range setupFields() {
				raw[f.Name] = fs.String(f.Flag, "", fieldUsage(f))
			}
			return func(a *app, args []string) int {
				s := &setupRun{app: a, o: o}
				err := s.values(fs, raw)
				if err == nil {
					err = s.run()
				}
				return a.exit(err)
			}
		},
	}
}

// setupRun is one run of setup: its flags, and credentials.json as it was
// read (before; existed) and as it is being filled in (c).
type setupRun struct {
	*app
	o       *setupOpts
	c       *credentials.Credentials
	before  credentials.Credentials
	existed bool
}

// values takes the fields from their flags, or their environment
// variables, or stdin.
func (s *setupRun) values(fs *pflag.FlagSet, raw map[string]*string) error {
	given := map[string]bool{}
	dashes := 0
	fs.Visit(func(f *pflag.Flag) {
		given[f.Name] = true
		if f.Value.String() == "-" {
			dashes++
		}
	})
	if dashes > 1 {
		return usageErr("setup: only one value can be read from stdin (-)",
			"give the other secrets in "+strings.Join(credentials.SecretEnv(), ", "))
	}
	for _, f := range setupFields() {
		if err := s.value(f, *raw[f.Name], given[f.Flag]); err != nil {
			return err
		}
	}
	return nil
}

// value takes one field from its flag, or for a secret from its
// environment variable; "-" reads the value from stdin, so that a
// provisioning script need not put a secret in argv.
func (s *setupRun) value(f setupField, v string, given bool) error {
	o := s.o
	if !given && f.Env != "" {
		v = s.getenv(f.Env)
		given = v != ""
	}
	if !given {
		return nil
	}
	if v == "-" {
		p := &prompt.Prompter{In: s.stdin, Out: s.stderr, TTY: s.terminal()}
		read := p.Line
		if p.TTY != nil { // typed, not piped: no echo
			read = func(ctx context.Context) (string, error) { return p.Secret(ctx, f.Name, "", nil) }
		}
		line, err := read(s.ctx)
		if err != nil {
			return usageErr(fmt.Sprintf("setup: --%s -: read stdin: %v", f.Flag, err), "pipe the value into "+s.cmdLine("setup"))
		}
		v, o.stdinUsed = line, true
	} else if f.Secret && s.getenv(f.Env) != v {
		o.fromArgv = append(o.fromArgv, f.Flag)
	}
	o.values[f.Name] = strings.TrimSpace(v)
	s.addSecrets(secretValues(o, f)...)
	return nil
}

func secretValues(o *setupOpts, f setupField) []string {
	if f.Secret {
		return []string{o.values[f.Name]}
	}
	return nil
}

// run is the first-run wizard: on a terminal it asks for each field;
// otherwise it takes them from flags and never prompts. Then it saves
// credentials.json and does the first token exchange.
func (s *setupRun) run() error {
	o := s.o
	for _, f := range o.fromArgv {
		s.warn(fmt.Sprintf("--%s was given on the command line, where other users can see it (ps)", f),
			fmt.Sprintf("use %s=… or --%s - (read from stdin) instead", fieldFlagEnv(f), f))
	}
	if err := s.checkDirs(); err != nil {
		return err
	}
	c, existed, err := readCredentials(s.paths.CredentialsFile)
	if err != nil {
		return err
	}
	s.c, s.existed, s.before = c, existed, *c
	fromTemplate(c, existed, o.preset)
	if err := applyPreset(c, o.preset, o.region); err != nil {
		return usageErr("setup: "+err.Error(), "run tokenkeeper help setup for the presets and regions")
	}
	o.apply(c)
	if o.wait {
		return s.wait()
	}
	tty := s.terminal()
	switch {
	case tty != nil && !o.noInput && !o.stdinUsed:
		if err := s.wizard(c, o, tty, existed); err != nil {
			return s.aborted(err)
		}
	case !o.noInput && len(o.values) == 0 && o.preset == "":
		s.info("stdin is not a terminal, so setup will not ask questions")
	}
	if err := s.checkComplete(); err != nil {
		return err
	}
	return s.finish()
}

func fieldFlagEnv(flagName string) string {
	for _, f := range setupFields() {
		if f.Flag == flagName {
			return f.Env
		}
	}
	return ""
}

// apply copies the flag values over c; a Keycloak base URL and --realm make
// the realm's token URL.
func (o *setupOpts) apply(c *credentials.Credentials) {
	for name, v := range o.values {
		*fieldByName(name).Ptr(c) = v
	}
	switch {
	case o.realm != "" && (o.preset == "keycloak" || o.preset == "") && credentials.Interactive(c.GrantType):
		c.Issuer, c.TokenURL = keycloakIssuer(c.TokenURL, o.realm), ""
		if c.Scope == "" {
			c.Scope = "openid offline_access"
		}
	case o.realm != "" && (o.preset == "keycloak" || o.preset == ""):
		c.TokenURL = keycloakURL(c.TokenURL, o.realm)
	}
	if p := loginPreset(o.preset); p != nil && p.Arg != "" {
		v := map[string]string{"domain": o.domain, "tenant": o.tenant, "issuer": o.values["issuer"]}[p.Arg]
		if v != "" {
			p.SetEndpoints(c, v)
		}
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
		return nil, false, &credentials.FileError{Path: path, Err: rec} // exit 78, with its hint
	case err != nil:
		return nil, false, &credentials.FileError{Path: path, Err: err}
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

// aborted ends a wizard the user left: Ctrl-C, or Ctrl-D (the input
// ended; setup asks only on a terminal, so that is a person too). Both save
// nothing and exit 1 (not 78: the credentials may be fine, the user stopped).
// The message starts on a line of its own: the question is still on the line.
func (s *setupRun) aborted(err error) error {
	var what string
	switch {
	case errors.Is(err, context.Canceled):
		what = "setup interrupted"
	case errors.Is(err, prompt.ErrNoInput):
		what = "setup: the input ended (Ctrl-D) before all questions were answered"
	default:
		return err
	}
	newLine(s.stderr)
	return &cmdError{exitError, what + "; nothing was saved",
		[]string{"run " + s.cmdLine("setup") + " to start again, or give every field as a flag with --no-input"}}
}

// checkComplete ends a non-interactive setup whose fields are not all there
// with exit 78 and the flags that would fill them.
func (s *setupRun) checkComplete() error {
	c, o := s.c, s.o
	var problems []string // credentials' own, then what setup's --preset asks for
	wrong := false        // a value given is refused, beside the fields not given
	if err := c.Validate(); err != nil {
		problems = append(problems, detail(err))
		var inv *credentials.InvalidError
		wrong = errors.As(err, &inv) && len(inv.Problems) > len(c.Missing())
	}
	var flags []string
	if c.TokenURL == "" && c.Issuer == "" && o.preset != "" && o.preset != credentials.TemplatePreset().Name {
		problems = append(problems, fmt.Sprintf("tokenURL: required for --preset %s, not set", o.preset))
		flags = append(flags, "--token-url")
	}
	if len(problems) == 0 {
		return nil
	}
	for _, name := range c.Missing() {
		f := fieldByName(name)
		env, flag := "", "" // the endpoint's word for a field named in the template provider's
		if word := c.Word(name); word != name {
			env, flag = "the "+word+" in ", "the "+word+" with "
		}
		if f.Env != "" {
			flags = append(flags, fmt.Sprintf("%s%s=… (or --%s -)", env, f.Env, f.Flag))
		} else {
			flags = append(flags, flag+"--"+f.Flag)
		}
	}
	hints := []string{"fix the values given, or run " + s.cmdLine("setup") + " on a terminal"}
	if p := loginPreset(o.preset); p != nil && p.Arg != "" && c.Issuer == "" && c.AuthURL == "" {
		hints = append([]string{fmt.Sprintf("give --%s (the %s)", p.Arg, p.Ask)}, hints...)
	}
	if len(flags) > 0 {
		give := "give " + strings.Join(flags, ", ")
		if wrong { // the flags alone would leave the refused value as it is
			give = "fix the values given above, and " + give
		}
		hints = []string{give,
			"or run " + s.cmdLine("setup") + " on a terminal to be asked, or " + s.cmdLine("setup --wait") + " and edit " + s.paths.CredentialsFile}
	}
	return &cmdError{exitConfig, strings.Join(problems, "\n"), hints}
}

// finish saves the credentials and does the first token exchange.
func (s *setupRun) finish() error {
	c := s.c
	if s.changed(c) {
		for _, w := range c.Warnings { // Save writes the known fields only
			s.warn(fmt.Sprintf("%s: %s; it is not kept when setup saves the file", c.Path, w))
		}
		if err := c.Save(s.paths.CredentialsFile); err != nil {
			return credentialsWriteError(err)
		}
		fmt.Fprintf(s.stdout, "saved %s\n", c.Path)
	} else {
		fmt.Fprintf(s.stdout, "%s is unchanged\n", s.paths.CredentialsFile)
	}
	s.addCredentials(c)
	return s.exchange(c)
}

// changed says whether c differs from the file setup read.
func (s *setupRun) changed(c *credentials.Credentials) bool {
	return !s.existed || !sameFields(c, &s.before)
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
	for _, f := range setupFields() {
		if *f.Ptr(x) != *f.Ptr(y) {
			return false
		}
	}
	return true
}

// exchange is the first token exchange with c, as firstExchangeOptions says.
func (s *setupRun) exchange(c *credentials.Credentials) error {
	a, o := s.app, firstExchangeOptions(c, &s.before, s.existed, s.changed(c))
	m, err := a.manager("tokenkeeper setup", false, false)
	if err != nil {
		return err
	}
	m.Creds = c
	if credentials.Interactive(c.GrantType) {
		// A grant a person starts: setup ends with login, unless nothing
		// changed and the stored grant still works.
		if r, err := m.Ensure(a.ctx, refresh.Options{}); err == nil && !o.Regrant {
			a.printSummary(r)
			return nil
		}
		return a.login(loginOptions{})
	}
	if tok, err := m.Load(); err == nil && tok != nil && tok.Refusal != nil && !o.Force {
		// A remembered refusal stops every run until credentials.json changes;
		// a person running setup again asks for one more try.
		o.Regrant = true
	}
	r, err := a.ensure(m, o)
	if err != nil {
		code := a.exit(err) // the failure, then what it means for setup
		a.message("error", "the first token exchange failed; "+c.Path+" is saved",
			"fix what the message above says, then run "+a.cmdLine("setup")+" again (it keeps your answers)")
		return exitStatus(code)
	}
	a.printSummary(r)
	a.printNext(r.Token)
	return nil
}

// printNext shows the scheduler line that keeps this profile's token alive
// (nextLine: cron, the Task Scheduler on Windows, launchd on macOS).
func (a *app) printNext(t *refresh.Token) {
	exe, err := os.Executable()
	if err != nil {
		exe = "tokenkeeper"
	}
	s := schedule{profile: a.paths.Profile, configRoot: filepath.Dir(a.paths.ConfigDir), stateRoot: filepath.Dir(a.paths.StateDir)}
	if a.g.dir != "" {
		s.dir = a.paths.ConfigDir
	}
	how, line := nextLine(runtime.GOOS, exe, s)
	fmt.Fprintf(a.stdout, "\nnext: keep it renewed %s:\n%s\n", how, line)
	if life := t.Expiry.Sub(t.ObtainedAt); !t.Expiry.IsZero() && life < 30*time.Minute {
		fmt.Fprintf(a.stdout, "(the access token lasts only %s: %s keeps the grant alive, and %s renews the access token on demand)\n", life.Round(time.Second), keeper(runtime.GOOS), a.cmdLine("token"))
	}
}

// shellQuote quotes s for a shell (a crontab line, a hint) when it needs it:
// words it knows to be plain stay as they are, for readability.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`;&|<>()*?[]#~%") {
		return s
	}
	return singleQuote(s)
}
