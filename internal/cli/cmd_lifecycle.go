package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// errTemplateWritten ends a run that had to write the credentials template.
var errTemplateWritten = errors.New("template written")

// loadCreds loads credentials.json. When it is missing and writeTemplate is set
// (the tutorial's first run), it writes the template and tells what to fill in.
func (a *app) loadCreds(writeTemplate bool) (*credentials.Credentials, error) {
	path := a.paths.CredentialsFile
	c, err := credentials.Load(path)
	if errors.Is(err, fs.ErrNotExist) && writeTemplate {
		return nil, a.writeTemplate(path)
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
	a.addSecrets(c.ClientSecret, c.CompanyRequestToken, c.RefreshToken)
	return c, nil
}

func (a *app) writeTemplate(path string) error {
	created, err := credentials.WriteTemplate(path)
	if err != nil {
		return &refresh.Error{Kind: refresh.KindUnexpected, Err: err, Msg: err.Error(),
			Hint: "check that the directory is writable, or choose another with --dir or --config-dir"}
	}
	if !created { // someone wrote it in the meantime: load that one
		_, err := a.loadCreds(false)
		return err
	}
	a.info("wrote a credentials template to %s", path)
	a.message("info", "fill in: appID, clientSecret, companyUUID, companyRequestToken (grantType password, the tutorial's)",
		"for other providers set tokenURL and grantType (client_credentials, or refresh_token with refreshToken); then run tokenkeeper again",
		"or run tokenkeeper setup for a guided first run")
	return errTemplateWritten
}

// manager builds the lifecycle for this profile. Credentials are read only when a
// renewal needs them (a valid token on disk needs one read of one file), unless
// eager, for commands that should check them on every run.
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
	if eager {
		c, err := a.loadCreds(writeTemplate)
		if err != nil {
			return nil, err
		}
		m.Creds = c
	}
	return m, nil
}

func (a *app) client() *refresh.Client {
	return &refresh.Client{
		Timeout:   a.g.timeout,
		UserAgent: "tokenkeeper/" + version(),
		OnRetry: func(attempt int, wait time.Duration, err error) {
			a.log.Debug("token endpoint failed; retrying", "attempt", attempt, "wait", wait, "err", a.redact(err.Error()))
		},
	}
}

// ensure runs the lifecycle and reports its warnings; the returned code is -1 on
// success.
func (a *app) ensure(m *refresh.Manager, o refresh.Options) (*refresh.Result, int) {
	r, err := m.Ensure(a.ctx, o)
	if r != nil {
		if r.Token != nil {
			a.addSecrets(r.Token.AccessToken, r.Token.RefreshToken)
		}
		a.warnAll(r.Warnings)
	}
	if errors.Is(err, errTemplateWritten) {
		return nil, exitConfig
	}
	if err != nil {
		a.warnTokenFileMode()
		return nil, a.fail(err)
	}
	// Not on the fast path of token (no credentials read, a valid token handed
	// out): that is one read and one parse, and stays so.
	if m.Creds != nil || r.Action != refresh.ActionValid {
		a.warnTokenFileMode()
	}
	return r, -1
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

// cmdRun is the tutorial's program: template on first run, then the lifecycle
// once and a short status.
func (a *app) cmdRun(args []string) int {
	fs := newFlags("tokenkeeper")
	if code := a.parseFlags(fs, args, 0); code >= 0 {
		return code
	}
	m, err := a.manager("tokenkeeper", true, true)
	if errors.Is(err, errTemplateWritten) {
		return exitConfig
	}
	if err != nil {
		return a.fail(err)
	}
	r, code := a.ensure(m, refresh.Options{})
	if code >= 0 {
		return code
	}
	a.printSummary(r)
	return exitOK
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

func (a *app) cmdInit(args []string) int {
	fs := newFlags("init")
	if code := a.parseFlags(fs, args, 0); code >= 0 {
		return code
	}
	path := a.paths.CredentialsFile
	created, err := credentials.WriteTemplate(path)
	if err != nil {
		return a.fail(&refresh.Error{Kind: refresh.KindUnexpected, Err: err, Msg: err.Error(),
			Hint: "check that the directory is writable, or choose another with --dir or --config-dir"})
	}
	if !created {
		a.info("%s already exists; not overwriting it", path)
		return exitOK
	}
	a.info("wrote a credentials template to %s", path)
	a.message("info", "fill in: appID, clientSecret, companyUUID, companyRequestToken (or set grantType for other providers)",
		"then run tokenkeeper refresh")
	return exitOK
}

func (a *app) cmdRefresh(args []string) int {
	fs := newFlags("refresh")
	quiet := fs.Bool("quiet", false, "")
	force := fs.Bool("force", false, "")
	var minValid time.Duration
	fs.Var(durationFlag{&minValid}, "min-valid", "")
	all, concurrency := fleetFlags(fs)
	if code := a.parseFlags(fs, args, 0); code >= 0 {
		return code
	}
	o := refresh.Options{Force: *force, MinValid: minValid}
	if *all {
		if code := a.checkConcurrency(*concurrency); code >= 0 {
			return code
		}
		return a.refreshAll(o, *quiet, *concurrency)
	}
	m, err := a.manager("tokenkeeper refresh", true, true)
	if errors.Is(err, errTemplateWritten) {
		return exitConfig
	}
	if err != nil {
		return a.fail(err)
	}
	r, code := a.ensure(m, o)
	if code >= 0 {
		return code
	}
	if !*quiet {
		a.info("%s: access token %s", r.Action, describeExpiry(time.Now(), r.Token.Expiry, "with unknown expiry"))
	}
	return exitOK
}

func (a *app) cmdToken(args []string) int {
	fs := newFlags("token")
	header := fs.Bool("header", false, "")
	var minValid time.Duration
	fs.Var(durationFlag{&minValid}, "min-valid", "")
	if code := a.parseFlags(fs, args, 0); code >= 0 {
		return code
	}
	m, err := a.manager("tokenkeeper token", false, true)
	if err != nil {
		return a.fail(err)
	}
	r, code := a.ensure(m, refresh.Options{MinValid: minValid})
	if code >= 0 {
		return code
	}
	tok := r.Token.AccessToken
	if strings.ContainsAny(tok, "\r\n") {
		return a.fail(&refresh.Error{Kind: refresh.KindTemporary, Msg: "the access token contains a line break; refusing to print it",
			Hint: "the token endpoint answered something odd: run tokenkeeper refresh --force -v"})
	}
	if *header {
		fmt.Fprintf(a.stdout, "Authorization: Bearer %s\n", tok)
	} else {
		fmt.Fprintf(a.stdout, "%s\n", tok)
	}
	return exitOK
}
