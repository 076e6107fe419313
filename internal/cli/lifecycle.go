package cli

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// errTemplateWritten ends a run that had to write the credentials template
// (and said what to fill in) with exit 78.
var errTemplateWritten error = exitStatus(exitConfig)

// loadCreds loads credentials.json. When it is missing and writeTemplate is set
// (the tutorial's first run), it writes the template and tells what to fill in;
// otherwise a profile that does not exist is said to be so (requireProfile).
func (a *app) loadCreds(writeTemplate bool) (*credentials.Credentials, error) {
	path := a.paths.CredentialsFile
	c, err := credentials.Load(path)
	if missingFile(err) {
		if !writeTemplate {
			if perr := a.requireProfile(); perr != nil {
				return nil, perr
			}
		} else if perr := a.checkDirs(); perr != nil {
			return nil, perr
		} else {
			return nil, a.writeTemplate(path)
		}
	}
	if err != nil {
		return nil, err
	}
	if w := storage.PermissionWarning(path); w != "" {
		a.warn(w)
	}
	for _, w := range c.Warnings {
		a.warn(fmt.Sprintf("%s: %s", path, w))
	}
	a.addCredentials(c)
	return c, nil
}

func (a *app) writeTemplate(path string) error {
	created, err := credentials.WriteTemplate(path)
	if err != nil {
		return credentialsWriteError(err)
	}
	if !created { // someone wrote it in the meantime: load that one
		_, err := a.loadCreds(false)
		return err
	}
	a.info("wrote a credentials template to %s", path)
	a.message("info", "fill in: "+templateMissing()+" (grantType password, the tutorial's)",
		"for other providers set tokenURL and grantType (client_credentials, or refresh_token with refreshToken); then run "+a.cmdLine("refresh"),
		"or run "+a.cmdLine("setup")+" for a guided first run")
	return errTemplateWritten
}

// manager builds the lifecycle for this profile. Credentials are read only when a
// renewal needs them (a valid token on disk needs one read of one file), unless
// eager, for commands that should check them on every run. writeTemplate
// (the bare run's first run) goes with eager: manager itself then ends with
// errTemplateWritten, before any Ensure.
func (a *app) manager(holder string, eager, writeTemplate bool) (*refresh.Manager, error) {
	m := &refresh.Manager{
		Paths:       a.paths,
		Client:      a.client(),
		Margin:      a.g.margin,
		LockTimeout: a.g.lockTimeout,
		WarnBefore:  a.g.warnBefore,
		Holder:      holder,
		Log:         a.log,
		Secrets:     a.addSecrets,
		LoadCredentials: func() (*credentials.Credentials, error) {
			return a.loadCreds(writeTemplate)
		},
	}
	store, err := a.storeFor(a.paths)
	if err != nil {
		return nil, err
	}
	m.Store = store
	if eager {
		c, err := a.loadCreds(writeTemplate)
		if err != nil {
			return nil, err
		}
		m.Creds = c
	}
	return m, nil
}

// inlineTimeout is --timeout's default for the outputs a program waits on
// while a person waits on the program (token -o exec-credential for kubectl,
// git-credential get for git), and outageName the file in the profile's
// state directory that remembers, for as long, a token endpoint that did not
// answer (refresh.Outage): kubectl runs its exec plugin up to six times for
// one command, and 30 s each froze it for minutes.
const (
	inlineTimeout = 10 * time.Second
	outageName    = "endpoint-down.json"
)

// inline readies a run whose caller waits inline: the short --timeout,
// unless one was given (flag or TOKENKEEPER_TIMEOUT), and again, what a
// hint says of running again later (the caller does so on its next
// command). Called before the manager is made: the client and the store
// take the timeout from there.
func (a *app) inline(again string) {
	a.again = again
	if a.g.sources["timeout"] == "" {
		a.g.timeout = inlineTimeout
	}
}

// rememberOutage has m remember, for a few seconds, a token endpoint that
// did not answer (see inline).
func (a *app) rememberOutage(m *refresh.Manager) {
	m.Outage = &refresh.Outage{File: filepath.Join(a.paths.StateDir, outageName), For: inlineTimeout}
}

// oneDeadline gives the run one deadline, --timeout from now, for all it asks
// of the store and the token endpoint: reads, the lock, the requests and
// their retries share it, rather than each its own --timeout (with which a
// store that accepts connections and never answers would take three). Waiting for
// another tokenkeeper's lock does not count (--lock-timeout bounds it), and a
// save of a token just received gets its own --timeout. The commands a run
// of which is one renewal call it (token, refresh, git-credential, status,
// exec); login and logout wait on a person, watch and serve run for ever,
// and --all gives each profile its own --timeout.
func (a *app) oneDeadline() {
	a.budget = storage.NewBudget(cmp.Or(a.g.timeout, refresh.DefaultTimeout)) // --timeout 0: the default, as for the client
}

func (a *app) client() *refresh.Client {
	return &refresh.Client{
		Timeout: a.g.timeout,
		Budget:  a.budget,
		// Looked up when a request is sent: debug.ReadBuildInfo is 2% of a
		// run of tokenkeeper token that finds its token valid.
		UserAgentFunc: func() string { return "tokenkeeper/" + version() },
		OnRetry: func(attempt int, wait time.Duration, err error) {
			a.log.Debug("token endpoint failed; retrying", "attempt", attempt, "wait", wait, "err", a.redact(err.Error()))
		},
	}
}

// ensure runs the lifecycle and reports its warnings; its error is for a.exit.
func (a *app) ensure(m *refresh.Manager, o refresh.Options) (*refresh.Result, error) {
	r, err := m.Ensure(a.ctx, o)
	if r != nil {
		if r.Token != nil {
			a.addSecrets(r.Token.AccessToken, r.Token.RefreshToken)
		}
		a.warnResult(r)
	}
	if err != nil {
		a.warnTokenFileMode()
		return nil, err
	}
	// Not on the fast path of token (no credentials read, a valid token handed
	// out): that is one read and one parse, and stays so.
	if m.Creds != nil || r.Action != refresh.ActionValid {
		a.warnTokenFileMode()
	}
	return r, nil
}

// warnTokenFileMode warns when the token file is readable by others, or a
// directory of the profile writable by others. It runs
// after the lifecycle: a save rewrites the file 0600, and a warning then would
// ask for a chmod already done.
func (a *app) warnTokenFileMode() {
	if w := storage.PermissionWarning(a.paths.TokenFile); w != "" {
		a.warn(w, "the file holds the access and refresh tokens; tokenkeeper writes it 0600 on the next renewal")
	}
	for _, w := range storage.DirWarnings(a.paths) {
		a.warn(w)
	}
}

func (a *app) printSummary(r *refresh.Result) {
	now := time.Now()
	t := r.Token
	what := map[string]string{
		refresh.ActionValid:        "the stored access token is valid",
		refresh.ActionRefreshed:    "renewed the access token with the refresh token",
		refresh.ActionBootstrapped: "got a new grant from " + a.paths.CredentialsFile,
		refresh.ActionKept:         "could not renew; kept the stored access token",
	}[r.Action]
	fmt.Fprintf(a.stdout, "%s\n", what)
	fmt.Fprintf(a.stdout, "access token:  %s\n", describeExpiry(now, t.Expiry, "unknown expiry"))
	if t.RefreshToken == "" {
		fmt.Fprintf(a.stdout, "refresh token: none\n")
	} else {
		fmt.Fprintf(a.stdout, "refresh token: %s\n", describeExpiry(now, t.RefreshExpiry, "no expiry advertised"))
	}
	fmt.Fprintf(a.stdout, "token file:    %s\n", a.paths.TokenFile)
}

func describeExpiry(now, t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	verb := "valid until"
	if !now.Before(t) {
		verb = "expired at"
	}
	return fmt.Sprintf("%s %s (%s)", verb, t.Local().Format(time.RFC3339), refresh.Until(now, t))
}

// warnMinValid warns when the token handed out is valid for less than
// --min-valid asked. Tokens that last less than asked, or a margin capped at
// half a token's lifetime (refresh.Token.RenewAt), make that happen. A warning, not
// an error: the token is still the best there is, and a script that fails
// for good on a provider's token lifetime cannot be fixed from the client.
func (a *app) warnMinValid(minValid time.Duration, t *refresh.Token) {
	now := time.Now()
	if minValid <= 0 || t == nil || t.Expiry.IsZero() || t.Expiry.Sub(now) >= minValid {
		return
	}
	why := "tokenkeeper renews no earlier than half a token's lifetime before it expires"
	if life := t.Expiry.Sub(t.ObtainedAt); !t.ObtainedAt.IsZero() && life < minValid {
		// Read back from the file, the two times may straddle a second boundary:
		// "59m59s" for an hour's token reads as a mistake.
		unit := time.Second
		if life >= 10*time.Minute {
			unit = time.Minute
		}
		why = fmt.Sprintf("this endpoint's access tokens last %s", life.Round(unit))
	}
	a.warn(fmt.Sprintf("--min-valid %s: the access token is valid for only %s; %s", minValid, t.Expiry.Sub(now).Truncate(time.Second), why),
		"ask for no more than the token can give, or use the token within its expiry")
}

// templateMissing names the fields the template leaves to fill in, from the
// field table.
func templateMissing() string {
	c, err := credentials.Parse("", credentials.Template())
	if err != nil {
		panic("the template does not parse: " + err.Error())
	}
	return strings.Join(c.Missing(), ", ")
}
