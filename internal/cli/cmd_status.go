package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/promtext"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// statusReport is what `status` knows of a profile, without any network request
// and without changing a file. Its JSON form is for scripts.
type statusReport struct {
	Profile     string            `json:"profile"`
	Files       statusFiles       `json:"files"`
	Credentials statusCredentials `json:"credentials"`
	Token       statusToken       `json:"token"`
	Store       *statusStore      `json:"store,omitempty"` // with --store (status_store.go)
	Warnings    []string          `json:"warnings"`
	// Renewable is true when a valid token can be had without a human.
	Renewable bool `json:"renewable"`
	// Next is the decision: what the next run does (nothing, refresh,
	// bootstrap, human); Verdict says why, Hint what to do.
	Next     string `json:"next"`
	Verdict  string `json:"verdict"`
	Hint     string `json:"hint,omitempty"`
	ExitCode int    `json:"exit_code"`
	// refusal: the record remembers a refusal the next run honours (the
	// metrics' tokenkeeper_refusal_remembered).
	refusal bool
}

type statusFiles struct {
	Credentials       string `json:"credentials"`
	CredentialsSource string `json:"credentials_dir_source"`
	Token             string `json:"token"`
	TokenSource       string `json:"token_dir_source"`
	Lock              string `json:"lock"`
}

type statusCredentials struct {
	State     string            `json:"state"` // ok, missing, incomplete, invalid
	Problems  []string          `json:"problems,omitempty"`
	TokenURL  string            `json:"token_url,omitempty"`
	GrantType string            `json:"grant_type,omitempty"`
	Fields    map[string]string `json:"fields,omitempty"` // secrets masked
}

type statusToken struct {
	State            string     `json:"state"` // ok, missing, none (a record that keeps no token), corrupt, unreadable, unusable (not a regular file of this user), refused
	Problem          string     `json:"problem,omitempty"`
	AccessToken      string     `json:"access_token,omitempty"` // masked
	AccessValid      bool       `json:"access_valid"`
	AccessExpiresAt  *time.Time `json:"access_expires_at,omitempty"`
	RefreshToken     string     `json:"refresh_token,omitempty"` // masked
	RefreshUsable    bool       `json:"refresh_usable"`
	RefreshExpiresAt *time.Time `json:"refresh_expires_at,omitempty"`
	// RefreshRefusedAt: the provider refused the stored refresh token then
	// (state "refused"); it is never sent again.
	RefreshRefusedAt *time.Time `json:"refresh_refused_at,omitempty"`
	ObtainedAt       *time.Time `json:"obtained_at,omitempty"`
	TokenURL         string     `json:"token_url,omitempty"`
	Geolocation      string     `json:"geolocation,omitempty"`
}

// listOpts are the options of status and profiles: --json, and the fleet's.
type listOpts struct {
	json  bool
	fleet fleetOpts
}

func (o *listOpts) register(fs *pflag.FlagSet, all string) {
	fs.BoolVar(&o.json, "json", false, "print JSON, for scripts")
	o.fleet.register(fs, all)
}

func statusCommand() *command {
	return &command{
		name: "status", args: "[options]", summary: "show files, expiries, warnings and what the next run will do",
		long: `Show the profile's files and why they are there (flag, environment, XDG
default), the access and refresh tokens' expiries, the last renewal, warnings,
and what the next run will do. Secrets are masked and no request is sent. Exits
0 when the next run can get a token without a human, else with the code that
run would end with (75, 77, 78).`,
		example: `tokenkeeper status
tokenkeeper --profile eu status --json | jq .decision
tokenkeeper status --all
tokenkeeper status --all -o prometheus --output-file /var/lib/prometheus/node-exporter/tokenkeeper.prom`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			o := &statusOpts{}
			o.register(fs, "every profile under the config and state roots")
			fs.StringVarP(&o.format, "output", "o", "text", "print as `FORMAT`: "+strings.Join(statusFormats, ", ")+" (--json is -o json)")
			_ = fs.SetAnnotation("output", completeAnnotation, statusFormats)
			fs.StringVar(&o.file, "output-file", "", "with -o prometheus, replace `FILE` atomically (mode 0644, for node_exporter's textfile collector) instead of printing")
			return func(a *app, args []string) int { return a.exit(a.cmdStatus(o)) }
		},
	}
}

// statusFormats are status's -o values: prometheus is the metrics that make
// sense without a running watch (metrics.go).
var statusFormats = []string{"text", "json", "prometheus"}

type statusOpts struct {
	listOpts
	format string // -o
	file   string // --output-file
}

func (a *app) cmdStatus(o *statusOpts) error {
	switch {
	case !slices.Contains(statusFormats, o.format):
		return usageErr(fmt.Sprintf("-o %q: want %s", o.format, strings.Join(statusFormats, ", ")), a.outputFileHint(o))
	case o.json && o.format != "text" && o.format != "json":
		return usageErr(fmt.Sprintf("--json and -o %s: choose one", o.format), "")
	case o.file != "" && o.format != "prometheus":
		return usageErr("--output-file: only with -o prometheus", "print other formats and redirect them")
	}
	o.json = o.json || o.format == "json"
	if o.fleet.all {
		if err := o.fleet.check(); err != nil {
			return err
		}
		if o.format == "prometheus" {
			return a.statusMetrics(o)
		}
		return a.statusAll(o.json, o.fleet.concurrency)
	}
	if o.format == "prometheus" {
		return a.statusMetrics(o)
	}
	a.oneDeadline()
	r := a.status(a.paths, time.Now())
	if o.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else {
		a.printStatus(a.stdout, r, time.Now())
	}
	return exitWith(r.ExitCode)
}

// outputFileHint points a file name given to -o at --output-file: -o is
// --output, the format (as kubectl's and gcloud's -o is), and a later
// "--output FILE" replaces an earlier "-o prometheus" without a word.
func (a *app) outputFileHint(o *statusOpts) string {
	if !strings.ContainsAny(o.format, `/\.`) {
		return ""
	}
	cmd := "status"
	if o.fleet.all {
		cmd += " --all"
	}
	return "-o (--output) is the format; to write the metrics to a file: " + a.cmdLine(cmd+" -o prometheus --output-file "+shellQuote(o.format))
}

// statusMetrics prints, or writes to --output-file, the metrics of the profile
// or, with --all, of every profile; it exits as status does.
func (a *app) statusMetrics(o *statusOpts) error {
	var reports []*statusReport
	code := exitOK
	if o.fleet.all {
		c, err := a.fleetStatus("status --all", o.fleet.concurrency, false, nil, func(name string, s profileStatus) {
			reports = append(reports, s.r)
		})
		if err != nil {
			return err
		}
		code = c
	} else {
		r := a.statusOf(a.paths, time.Now(), false)
		reports, code = append(reports, r), r.ExitCode
	}
	var w promtext.Writer
	writeMetrics(&w, reports, nil)
	if o.file == "" {
		if _, err := a.stdout.Write(w.Bytes()); err != nil {
			return err
		}
		return exitWith(code)
	}
	if err := checkOutputFile(o.file); err != nil {
		return err
	}
	if err := storage.WriteReadable(o.file, w.Bytes()); err != nil {
		return &cmdError{exitError, "--output-file: " + err.Error(), []string{"name a file in a directory that exists and this user may write to"}}
	}
	return exitWith(code)
}

// metricsStart is how every textfile status writes begins (writeMetrics's
// first family).
const metricsStart = "# HELP tokenkeeper_"

// checkOutputFile refuses to replace, at --output-file's path, what status
// did not write: it runs as whoever runs it, root too, and a path mistyped
// or planted would otherwise be replaced by the metrics whatever it was (a
// device such as /dev/zero, /etc/passwd, a directory's neighbour). Replaced
// are a missing file, an empty one, a textfile of tokenkeeper's, and a
// symbolic link outside the system's directories (the link, never its
// target).
func checkOutputFile(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // missing (created), or the write says why not
	}
	abs, _ := filepath.Abs(path)
	refuse := func(msg, hint string) error {
		return &cmdError{exitConfig, "--output-file: " + abs + " " + msg + "; not replacing it", []string{hint}}
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if storage.SystemPath(abs) {
			return refuse("is a symbolic link in a directory of the system's", "name a file of the textfile collector's directory")
		}
		return nil
	}
	data, err := storage.ReadFile(abs)
	var re *storage.RecordError
	switch {
	case errors.As(err, &re):
		return refuse(strings.TrimSuffix(re.Msg, ", not a regular file"), "name a regular file (or a new one), in a directory that exists")
	case err != nil && !errors.Is(err, storage.ErrTooLarge):
		return nil // unreadable: the write says why it cannot replace it
	case len(data) > 0 && !strings.HasPrefix(string(data), metricsStart):
		return refuse("exists and is not a metrics file written by tokenkeeper status",
			"name a new file, or one status wrote; move the file away first if it is to be replaced")
	}
	return nil
}

func (a *app) status(p storage.Paths, now time.Time) *statusReport { return a.statusOf(p, now, true) }

// statusOf is status; without health, a --store is read as the commands
// read it (this host's read copy) and not asked how it is: the metrics are
// made without a request.
func (a *app) statusOf(p storage.Paths, now time.Time, health bool) *statusReport {
	r := &statusReport{Profile: p.Profile, Warnings: []string{}, Files: statusFiles{
		Credentials: p.CredentialsFile, CredentialsSource: p.ConfigSource,
		Token: p.TokenFile, TokenSource: p.StateSource, Lock: p.LockFile,
	}}
	if lock, err := storage.OpenFileStore(p, nil).LockFile(); err == nil {
		r.Files.Lock = lock // named after the token file a link leads to
	}
	c, cerr := a.statusCredentials(r, p)
	var tok *refresh.Token
	var terr error
	record := p.TokenFile
	if nd := (*storage.NotDirError)(nil); !errors.As(cerr, &nd) { // a file where the profile's directory belongs says it all
		var store storage.Store
		if health {
			store = a.statusStoreOf(r, p)
		} else if s, err := a.sharedStore(p); err == nil && s != nil {
			store = s
		}
		tok, terr = (&refresh.Manager{Paths: p, Store: store}).Load()
		if store != nil {
			record = store.Name()
		}
	}
	// The one decision, as the next run would make it; nothing here re-derives it.
	plan := refresh.Decide(refresh.State{Creds: c, CredsErr: cerr, Token: tok, TokenErr: terr, Record: record, Now: now},
		refresh.Policy{Margin: a.g.margin, WarnBefore: a.g.warnBefore, Asked: now})
	a.statusToken(r, tok, terr, plan)
	for _, path := range []string{p.CredentialsFile, p.TokenFile} {
		if w := storage.PermissionWarning(path); w != "" {
			r.Warnings = append(r.Warnings, w)
		}
	}
	r.Warnings = append(r.Warnings, storage.DirWarnings(p)...)
	r.Warnings = append(append(r.Warnings, plan.Warnings...), plan.RefreshWarnings...)
	r.Next, r.Verdict, r.Renewable = plan.Step.String(), "ok: "+plan.Why, plan.Step != refresh.StepHuman
	r.refusal = plan.Remembered || !plan.RefreshRefused.IsZero()
	if hint := a.nextHint(plan.RefreshNext); hint != "" {
		r.Hint = "before the refresh token expires: " + hint
	}
	if plan.Retry && plan.Err == nil {
		r.Hint = joinHint(r.Hint, a.retryHint(plan.RetryNext, a.nextHint(plan.RetryNext)))
	}
	if plan.Err != nil {
		r.ExitCode, r.Hint = a.exitOf(plan.Err)
		r.Verdict = plan.Why + ": " + a.redact(plan.Err.Error())
	}
	a.redactReport(r)
	return r
}

// redactReport hides every known secret in the report's text, once, for all
// its readers: status, status --json, the --all listings and profiles.
func (a *app) redactReport(r *statusReport) {
	for _, list := range [][]string{r.Credentials.Problems, r.Warnings} {
		for i := range list {
			list[i] = a.redact(list[i])
		}
	}
	for k, v := range r.Credentials.Fields {
		r.Credentials.Fields[k] = a.redact(v)
	}
	for _, p := range []*string{&r.Verdict, &r.Hint, &r.Token.Problem, &r.Credentials.TokenURL, &r.Token.TokenURL, &r.Token.Geolocation} {
		*p = a.redact(*p)
	}
}

func (a *app) statusCredentials(r *statusReport, p storage.Paths) (*credentials.Credentials, error) {
	c, err := credentials.Load(p.CredentialsFile)
	var inv *credentials.InvalidError
	switch {
	case missingFile(err):
		r.Credentials.State = "missing"
		if perr := a.requireProfile(); perr != nil {
			return nil, perr // the profile itself is missing
		}
		return nil, err
	case errors.As(err, &inv):
		r.Credentials.State = "invalid"
		if errors.Is(err, credentials.ErrIncomplete) {
			r.Credentials.State = "incomplete"
		}
		for _, pr := range inv.Problems {
			r.Credentials.Problems = append(r.Credentials.Problems, pr.String())
		}
		return nil, err
	case err != nil:
		r.Credentials.State = "invalid"
		r.Credentials.Problems = []string{err.Error()} // redacted with the rest (redactReport)
		return nil, err
	}
	// A key the next run would refuse (not private, not parsable) makes it
	// end 78: status says so now, reading the key as that run would.
	if _, err := refresh.NewClientAuth(c, nil); err != nil {
		r.Credentials.State = "invalid"
		r.Credentials.Problems = []string{err.Error()}
		return nil, err
	}
	a.addCredentials(c)
	r.Credentials.State = "ok"
	r.Credentials.TokenURL = redact.URL(c.TokenURL)
	r.Credentials.GrantType = c.GrantType
	r.Credentials.Fields = c.Redacted()
	r.Warnings = append(r.Warnings, c.Warnings...)
	return c, nil
}

// statusToken shows the stored record, masked, with what the decision made of it.
func (a *app) statusToken(r *statusReport, tok *refresh.Token, err error, plan refresh.Plan) {
	var rec *storage.RecordError
	switch {
	case errors.As(err, &rec):
		r.Token.State = "unusable"
		r.Token.Problem = err.Error() // the hint comes with the decision's verdict
		return
	case err != nil:
		r.Token.State = "unreadable" // not a file it can read: a person must look
		var fe *refresh.CorruptRecordError
		if errors.As(err, &fe) {
			r.Token.State = "corrupt" // set aside by the next run
		}
		r.Token.Problem = detail(err)
		return
	case tok == nil:
		r.Token.State = "missing"
		return
	case tok.AccessToken == "" && tok.Refusal != nil:
		r.Token.State = "refused" // a record that only remembers a refusal
		return
	case tok.AccessToken == "" && tok.RefreshToken == "":
		// logout's record: no token, at most the memory of a spent seed;
		// an access token "renewed on next use" would contradict a verdict
		// that the next run needs a person.
		r.Token.State = "none"
		return
	}
	a.addSecrets(tok.AccessToken, tok.RefreshToken)
	st := &r.Token
	st.State = "ok"
	st.AccessToken = redact.MaskToken(tok.AccessToken)
	st.RefreshToken = redact.MaskToken(tok.RefreshToken)
	st.AccessValid = plan.AccessValid
	st.RefreshUsable = plan.RefreshUsable
	st.AccessExpiresAt = timePtr(tok.Expiry)
	st.RefreshExpiresAt = timePtr(tok.RefreshExpiry)
	st.ObtainedAt = timePtr(tok.ObtainedAt)
	st.TokenURL = redact.URL(tok.TokenURL)
	st.Geolocation = redact.URL(tok.Geolocation)
	if !plan.RefreshRefused.IsZero() {
		st.State, st.RefreshRefusedAt = "refused", timePtr(plan.RefreshRefused)
	}
}

func (a *app) printStatus(w io.Writer, r *statusReport, now time.Time) {
	row := func(k, v string) { fmt.Fprintf(w, "%-15s %s\n", k+":", a.redact(v)) }
	row("profile", r.Profile)
	row("credentials", fmt.Sprintf("%s (%s)", r.Files.Credentials, r.Files.CredentialsSource))
	if r.Credentials.State != "ok" { // under the credentials row they are about
		row("  state", r.Credentials.State)
		for _, p := range r.Credentials.Problems {
			row("  problem", p)
		}
	}
	if r.Store != nil {
		a.printStatusStore(row, r.Store)
	} else {
		row("token file", fmt.Sprintf("%s (%s)", r.Files.Token, r.Files.TokenSource))
	}
	if r.Credentials.State == "ok" {
		if ep := r.Credentials.TokenURL; ep != "" || r.Credentials.Fields["issuer"] == "" {
			row("token endpoint", ep)
		} else {
			row("issuer", r.Credentials.Fields["issuer"]+" (endpoints by discovery)")
		}
		row("grant", fmt.Sprintf("%s, client %s", r.Credentials.GrantType, r.Credentials.Fields["appID"]))
		if m, k := r.Credentials.Fields["clientAuth"], r.Credentials.Fields["clientKey"]; m != "" { // the key's path, never the key
			if k != "" {
				m += ", key " + k
			}
			row("client auth", m)
		}
	}
	t := r.Token
	switch {
	case t.State == "ok" || t.RefreshRefusedAt != nil:
		row("access token", describeExpiry(now, deref(t.AccessExpiresAt), "unknown expiry (renewed on next use)"))
		switch {
		case t.RefreshRefusedAt != nil:
			row("refresh token", fmt.Sprintf("refused at %s (%s); it is not sent again", t.RefreshRefusedAt.Local().Format(time.RFC3339), refresh.Until(now, *t.RefreshRefusedAt)))
		case t.RefreshToken == "":
			row("refresh token", "none")
		default:
			row("refresh token", describeExpiry(now, deref(t.RefreshExpiresAt), "no expiry advertised"))
		}
		if t.ObtainedAt != nil {
			row("last renewal", fmt.Sprintf("%s (%s)", t.ObtainedAt.Local().Format(time.RFC3339), refresh.Until(now, *t.ObtainedAt)))
		}
		if t.Geolocation != "" {
			row("geolocation", t.Geolocation)
		}
	default:
		row("token", t.State) // missing, none, corrupt, …
		if t.Problem != "" {
			row("  problem", t.Problem)
		}
	}
	for _, wn := range r.Warnings {
		row("warning", wn)
	}
	row("verdict", r.Verdict)
	if r.Hint != "" {
		row("what to do", r.Hint)
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
