package refresh

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// The one decision (docs/contract.md §2, "One decision"): what the next run does with a
// profile, and why. The lifecycle executes it; status, profiles and watch report
// it. Nothing else decides whether a stored token is usable.

// Step is what a run does next.
type Step int

const (
	StepNothing   Step = iota // the stored access token is good: hand it out
	StepRefresh               // renew with the stored refresh token (and bootstrap if it is refused)
	StepBootstrap             // a new grant from the credentials
	StepHuman                 // only a person can help: Plan.Err says what to do
)

func (s Step) String() string {
	return [...]string{"nothing", "refresh", "bootstrap", "human"}[s]
}

// State is what the decision looks at. It is read, never changed.
type State struct {
	// Creds are the profile's credentials; nil when CredsErr says why, or when
	// they were not loaded (a plan other than StepNothing is then provisional:
	// the lifecycle loads them and decides again).
	Creds    *credentials.Credentials
	CredsErr error
	// Token is the stored record; nil when there is none or TokenErr says why
	// it cannot be read. A *CorruptRecordError is a record that does not parse.
	Token    *Token
	TokenErr error
	// Record is the record's name in messages, as its store gives it
	// (storage.Store's Name): the token file's path, or a shared store's URL.
	Record string
	Now    time.Time
}

// Policy is how demanding the run is.
type Policy struct {
	Options
	Margin     time.Duration // renew when less than this is left (raised by MinValid)
	WarnBefore time.Duration // warn when the refresh token dies within this
	// Asked is when the caller asked, for Options.Force: a token obtained since
	// satisfies a forced call.
	Asked time.Time
	// NoRefreshWarnings leaves Plan.RefreshWarnings and RefreshNext out: the
	// lifecycle never shows them (it warns once per renewal, about the token
	// it saved), and formatting them cost every run of `tokenkeeper token`.
	NoRefreshWarnings bool
	// Explain has Why, when the access token is kept, say until when it is
	// valid and against which margin (a debug line says why nothing was
	// sent). Off, Why is a constant: formatting times would cost every run of
	// `tokenkeeper token` that finds its token valid.
	Explain bool
}

// Plan is the decision: what the next run does, and why.
type Plan struct {
	Step Step
	Why  string // for people: "the access token is valid", …
	// Err, for StepHuman, is the failure the run ends with: its Kind gives the
	// exit code, its Msg and Hint the message. A remembered refusal gives the
	// same Err as the refusal did.
	Err *Error
	// Token is the stored token the plan keeps, or renews from (nil when a new
	// grant is needed).
	Token *Token
	// SetAside: the record does not parse; it is moved aside first.
	SetAside bool
	// Remembered: Err is a refusal remembered in the record; no request is sent.
	Remembered bool
	// Retry: a refusal remembered in the record stands (Err, or a warning
	// while the access token serves); a person may ask once more
	// (Options.Retry). RefreshRefused is when the stored refresh token was
	// refused (zero: it was not).
	Retry          bool
	RefreshRefused time.Time
	// RetryNext, with Retry and no Err (the access token still serves), is
	// what a person may do instead of the retry: NextLogin when the refused
	// refresh token belongs to a grant only a login starts.
	RetryNext NextStep
	Warnings  []string
	// RefreshWarnings are about the stored refresh token dying: status shows
	// them; the lifecycle warns once per renewal, about the token it saved.
	// RefreshNext is what a person does about them before then (NextLogin for
	// a grant only a login renews; NextNone when the advice is in the words).
	RefreshWarnings []string
	RefreshNext     NextStep
	// AccessValid: the stored access token is trusted and not expired (it may
	// still be within the margin). RefreshUsable: the stored refresh token is
	// worth sending: not expired, not refused.
	AccessValid, RefreshUsable bool
}

// Decide makes the decision. It is pure: no file, no clock, no network.
func Decide(s State, p Policy) Plan {
	var warns []string
	plan := Plan{}
	if s.TokenErr != nil {
		var fe *CorruptRecordError
		if !errors.As(s.TokenErr, &fe) {
			return Plan{Step: StepHuman, Err: unreadableRecord(s.TokenErr, s.Record),
				Why: "the token file cannot be read"}
		}
		plan.SetAside = true // the lifecycle warns with where it went
	}
	tok := s.Token
	if want := s.tokenURL(); tok != nil && want != "" && tok.TokenURL != "" && tok.TokenURL != want {
		// A record that holds no token, only a refusal (a 404 from a wrong
		// tokenURL, since corrected), was issued by no one: it is dropped
		// without a word, and the corrected endpoint is tried.
		if tok.AccessToken != "" || tok.RefreshToken != "" {
			warns = append(warns, fmt.Sprintf("%s was issued by %s, not by the tokenURL in %s; a new grant is needed", s.Record, redact.URL(tok.TokenURL), s.Creds.Path))
		}
		tok = nil
	}
	if tok != nil && tok.fromFuture(s.Now) {
		// Token.Valid distrusts it; say why it is renewed.
		warns = append(warns, fmt.Sprintf("the token in %s was obtained at %s, in the future: this host's clock was set back; it is renewed", s.Record, tok.ObtainedAt.Format(time.RFC3339)))
	}
	plan.Token, plan.Warnings = tok, warns
	if !p.NoRefreshWarnings {
		plan.RefreshWarnings = RefreshWarnings(s.Creds, tok, s.Now, p.WarnBefore)
		plan.RefreshNext = refreshNext(s.Creds, plan.RefreshWarnings)
	}
	plan.AccessValid = tok.Valid(s.Now, 0)
	// A person's retry (Options.Retry) lifts what is remembered, for one
	// request: the refusal of the credentials, else a refused refresh token
	// that only a person could replace.
	retry := p.Retry && tok.refusal() != nil && s.Creds != nil
	refused := tok.refreshRefused()
	if refused {
		plan.RefreshRefused = tok.Refusal.At
		retryRefresh := retry && !rememberedFor(tok, s.Creds) && !canRegrant(s.Creds)
		refused = !retryRefresh
	}
	plan.RefreshUsable = tok.RefreshUsable(s.Now) && !refused
	if s.CredsErr != nil { // 78 even while the token is valid: its renewal would fail
		plan.Step, plan.Err, plan.Why = StepHuman, credentialsError(s.CredsErr), credentialsWhy(s.CredsErr)
		return plan
	}
	// A remembered refusal stands until the credentials change: no request, the
	// same answer. Force does not get past it; a new grant started by a person
	// (Regrant: setup) does, and a person's retry asks once more.
	if r := tok.refusal(); !p.Regrant && !retry && rememberedFor(tok, s.Creds) {
		err := refusalError(r.Bootstrap.endpointError(), s.Creds, routeStrict)
		when := refusedWhen(r.At, s.Now)
		err.Msg = fmt.Sprintf("%s (refused at %s; nothing is sent until the credentials file changes)", err.Msg, when)
		err.Retry, plan.Retry = true, true
		if tok.Valid(s.Now, p.Margin) && !p.Force {
			// The access token still serves; say now what will be needed.
			plan.Step, plan.Why = StepNothing, validWhy(tok, s.Now, p)
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("the grant was refused at %s, and nothing is sent until the credentials file changes; when the access token expires at %s, a person must act: %s",
				when, tok.Expiry.Format(time.RFC3339), err.Hint))
			return plan
		}
		plan.Step, plan.Err, plan.Remembered, plan.Why = StepHuman, err, true, "the grant was refused"
		return plan
	}
	if retry && tok.Valid(s.Now, p.Margin) {
		p.Force = true // the one request is the point of a retry
	}
	switch {
	case p.Regrant:
		// Even a person's new start never sends a pasted refresh token twice.
		if s.Creds != nil {
			if err := spentSeed(s, tok); err != nil {
				plan.Step, plan.Err, plan.Why = StepHuman, err, "a new refresh token is needed"
				return plan
			}
		}
		plan.Step, plan.Why = StepBootstrap, "a new grant is asked for"
		return plan
	case tok.Valid(s.Now, p.Margin) && p.satisfiedBy(tok, p.Asked):
		plan.Step, plan.Why = StepNothing, validWhy(tok, s.Now, p)
		if !plan.RefreshRefused.IsZero() && s.Creds != nil && !canRegrant(s.Creds) {
			// The access token still serves; say now what will be needed.
			plan.Retry, plan.RetryNext = true, reauthNext(s.Creds)
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("the refresh token was refused at %s and is not sent again; the access token expires at %s: %s",
				refusedWhen(plan.RefreshRefused, s.Now), tok.Expiry.Format(time.RFC3339), reauthAdvice(s.Creds)))
		}
		return plan
	case s.Creds == nil:
		plan.Step, plan.Why = StepBootstrap, "the credentials are needed" // provisional
		return plan
	case plan.RefreshUsable:
		plan.Step, plan.Why = StepRefresh, "the next run renews with the refresh token"
		return plan
	}
	if credentials.Interactive(s.Creds.GrantType) {
		plan.Step, plan.Err, plan.Why = StepHuman, needsLogin(s.Creds, s.Record), "a person must log in"
		plan.refusedRefresh(s.Now)
		return plan
	}
	if err := spentSeed(s, tok); err != nil {
		plan.Step, plan.Err, plan.Why = StepHuman, err, "a new refresh token is needed"
		plan.refusedRefresh(s.Now)
		return plan
	}
	plan.Step, plan.Why = StepBootstrap, "the next run gets a new grant with "+s.Creds.GrantType
	if plan.SetAside {
		plan.Why = "the token file is not valid: the next run moves it aside and gets a new grant with " + s.Creds.GrantType
	}
	if r := tok.refusal(); r != nil && r.Bootstrap != nil && !retry {
		plan.Why = "the credentials changed since the grant was refused; the next run tries them once"
	}
	return plan
}

// refusedRefresh says, in a plan that needs a person because the stored refresh
// token was refused, when it was: the message is about a remembered refusal,
// which a person may ask about once more (Options.Retry).
func (plan *Plan) refusedRefresh(now time.Time) {
	if plan.RefreshRefused.IsZero() {
		return
	}
	plan.Remembered, plan.Retry, plan.Err.Retry = true, true, true
	plan.Err.Msg = fmt.Sprintf("the refresh token was refused at %s; %s", refusedWhen(plan.RefreshRefused, now), plan.Err.Msg)
}

// rememberedFor reports whether the record remembers a refusal of exactly
// these credentials.
func rememberedFor(tok *Token, c *credentials.Credentials) bool {
	r := tok.refusal()
	return r != nil && r.Bootstrap != nil && c != nil && r.Credentials == CredentialsFingerprint(c)
}

// canRegrant reports whether the credentials start a new grant without a
// person: a dead refresh token is then answered by a bootstrap.
func canRegrant(c *credentials.Credentials) bool {
	return !credentials.Interactive(c.GrantType) && c.GrantType != credentials.GrantRefreshToken
}

// refusedWhen says when a refusal was recorded, for people: "16:10 UTC, 3h0m
// ago", with the date when it was not today.
func refusedWhen(at, now time.Time) string {
	at, layout := at.UTC(), "15:04 UTC"
	if y, m, d := at.Date(); !(now.UTC().Year() == y && now.UTC().Month() == m && now.UTC().Day() == d) {
		layout = "2006-01-02 15:04 UTC"
	}
	if at.After(now) { // a clock set back
		return at.Format(layout) + ", " + Until(now, at)
	}
	return at.Format(layout) + ", " + roughDuration(now.Sub(at)) + " ago"
}

// validWhy is Why for a kept access token (tok.Valid at now for p.Margin):
// with p.Explain, until when it is valid and the margin it is held to (capped
// at half its lifetime, as Token.RenewAt caps it), and for a forced run that
// another run renewed it since.
func validWhy(tok *Token, now time.Time, p Policy) string {
	if !p.Explain {
		return "the access token is valid"
	}
	margin := tok.Expiry.Sub(tok.RenewAt(p.Margin))
	// Half a lifetime counted from obtained_at, which has sub-second
	// precision, is shown in whole seconds.
	why := fmt.Sprintf("the access token is valid until %s (%s), beyond the margin of %s",
		tok.Expiry.UTC().Format(time.RFC3339), Until(now, tok.Expiry), margin.Round(time.Second))
	if margin < p.Margin {
		why += " (half its lifetime)"
	}
	if p.Force && !p.Regrant {
		why += "; it was renewed since this run was asked"
	}
	return why
}

// spentSeed is the failure of a refresh_token grant whose pasted refresh token
// was already used: it must not be sent again, and only a person can get another.
// A stored refresh token that was never refused but whose recorded expiry has
// passed is said to have expired, and when: by this host's clock, which may be
// the one that is wrong.
func spentSeed(s State, tok *Token) *Error {
	c := s.Creds
	if c.GrantType != credentials.GrantRefreshToken || tok == nil {
		return nil
	}
	if tok.SeedFingerprint != fingerprint(c.RefreshToken) && tok.RefreshToken != c.RefreshToken {
		return nil
	}
	why := "the refresh token is no longer accepted"
	if tok.RefreshToken != "" && !tok.refreshRefused() && !tok.RefreshUsable(s.Now) {
		why = fmt.Sprintf("the refresh token in %s expired at %s (by this host's clock)", s.Record, tok.RefreshExpiry.UTC().Format(time.RFC3339))
	}
	return &Error{Kind: KindNeedsHuman, Next: NextRunAgain,
		Msg:  fmt.Sprintf("%s and the refreshToken in %s was already used", why, c.Path),
		Hint: fmt.Sprintf("get a new refresh token from the provider and put it in %s (refreshToken)", c.Path)}
}

// unreadableRecord is a token record (or its lock file) that exists but cannot be read as one: a
// directory, a FIFO, a device, a dangling link, no permission, another user's
// (storage.RecordError). It is not set aside, and waiting does not help: the
// user must fix the file, a matter of configuration like credentials.json's
// (exit 78, the same in every command). Any other read error may pass (75).
func unreadableRecord(err error, path string) *Error {
	var re *storage.RecordError
	var ce *storage.ConfigError
	switch {
	case errors.As(err, &re):
		return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Hint: re.Hint, Next: NextRunAgain}
	case errors.As(err, &ce):
		return &Error{Kind: KindCredentials, Err: err, Msg: ce.Error(), Hint: ce.Hint, Next: NextRunAgain}
	}
	if errors.Is(err, storage.ErrUnavailable) {
		return storeUnavailable(err)
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EISDIR) {
		return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Next: NextRunAgain,
			Hint: fmt.Sprintf("%s must be a regular file this user can read and write: move it away or fix its owner and mode", path)}
	}
	return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Next: NextLater,
		Hint: fmt.Sprintf("check that %s is a regular file this user can read", path)}
}

// credentialsError gives a credentials failure its kind, keeping its text.
func credentialsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindOf(err), Err: err, Msg: err.Error()}
}

// RefreshWarnings warns when the refresh token will really die before a renewal
// can extend it: it dies before the access token needs renewing at all, or its
// expiry is within warnBefore and the last refresh did not move it (an absolute
// expiry). A refresh token renewed on each refresh (Keycloak's
// rotating ones) is not dying, nor is one no refresh has shown fixed yet. A grant
// that needs no person to renew (client credentials) is never warned about.
func RefreshWarnings(c *credentials.Credentials, tok *Token, now time.Time, warnBefore time.Duration) []string {
	if tok == nil || tok.RefreshToken == "" || tok.RefreshExpiry.IsZero() || tok.refreshRefused() || !now.Before(tok.RefreshExpiry) {
		// An expiry already past is no warning of what is coming: the
		// decision says the refresh token expired.
		return nil
	}
	if c != nil && c.GrantType == credentials.GrantClientCredentials {
		return nil
	}
	left := tok.RefreshExpiry.Sub(now)
	dying := !tok.Expiry.IsZero() && tok.RefreshExpiry.Before(tok.Expiry) ||
		left < warnBefore && tok.RefreshFixed
	if !dying {
		return nil
	}
	return []string{fmt.Sprintf("the refresh token expires at %s (%s) and renewals do not extend it; %s",
		tok.RefreshExpiry.Format(time.RFC3339), Until(now, tok.RefreshExpiry), reauthAdvice(c))}
}

// refreshNext is what a person does about the refresh token's warnings: log
// in again, for a grant only a person can start.
func refreshNext(c *credentials.Credentials, warnings []string) NextStep {
	if len(warnings) == 0 {
		return NextNone
	}
	return reauthNext(c)
}

// reauthNext is what a person does to start a grant again: log in, for a
// grant only a person starts (the advice of the others is in their words).
func reauthNext(c *credentials.Credentials) NextStep {
	if c != nil && credentials.Interactive(c.GrantType) {
		return NextLogin
	}
	return NextNone
}

// reauthAdvice says what a person must do before the refresh token dies, in the
// provider's words (and OAuth's: no command; a grant a person starts says so).
func reauthAdvice(c *credentials.Credentials) string {
	if c == nil {
		return "before then, make sure the credentials file can get a new grant"
	}
	if s := credentials.ProviderOf(c.TokenURL).ReauthAdvice(c); s != "" {
		return s
	}
	switch c.GrantType {
	case credentials.GrantPassword:
		return fmt.Sprintf("before then, make sure the username and password in %s (%s, %s) are still accepted", c.Path, c.Word("companyUUID"), c.Word("companyRequestToken"))
	case credentials.GrantRefreshToken:
		return fmt.Sprintf("before then, get a new refresh token from the provider and put it in %s (refreshToken)", c.Path)
	case credentials.GrantAuthorizationCode, credentials.GrantDeviceCode:
		return "before then, a person must log in again (grantType " + c.GrantType + ")"
	}
	return fmt.Sprintf("before then, make sure the credentials in %s can get a new grant", c.Path)
}

// CredentialsFingerprint identifies the credentials a refusal was given to,
// without revealing any of them: a change to any field a grant depends on
// changes it; one to a NotGrant field does not (it counts as empty, so that a
// field added to the table as NotGrant changes no remembered fingerprint).
func CredentialsFingerprint(c *credentials.Credentials) string {
	var b strings.Builder
	for _, f := range credentials.Fields {
		v := *f.Ptr(c)
		if f.NotGrant {
			v = ""
		}
		if f.Sparse && v == "" {
			continue
		}
		fmt.Fprintf(&b, "%s=%q\n", f.Name, v)
	}
	return fingerprint(b.String())
}

func credentialsWhy(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "credentials missing"
	case errors.Is(err, credentials.ErrIncomplete):
		return "credentials incomplete"
	}
	return "credentials invalid"
}

// tokenURL is the token endpoint the credentials name; "" when they name
// none. A token endpoint discovered from the issuer is not compared: the
// record's token_url is where discovery's answer is kept (discovery.go says
// when it is looked up again), and what one process discovered must not make
// a record another process saved look foreign, nor status and the lifecycle
// (which may have discovered) decide differently.
func (s State) tokenURL() string {
	if s.Creds == nil {
		return ""
	}
	return s.Creds.TokenURL
}

// needsLogin is the failure of a grant only a person can start: Next says a
// person logs in, and the caller names how (the CLI: its login command).
func needsLogin(c *credentials.Credentials, tokenFile string) *Error {
	return &Error{Kind: KindNeedsHuman, Next: NextLogin,
		Msg: fmt.Sprintf("no usable refresh token in %s: grantType %s needs a person to log in", tokenFile, c.GrantType)}
}
