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

// The one decision (SPEC §2, "One decision"): what the next run does with a
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
	// it cannot be read. A *FileError is a record that does not parse.
	Token     *Token
	TokenErr  error
	TokenFile string
	Now       time.Time
}

// Policy is how demanding the run is.
type Policy struct {
	Options
	Margin     time.Duration // renew when less than this is left (raised by MinValid)
	WarnBefore time.Duration // warn when the refresh token dies within this
	// Asked is when the caller asked, for Options.Force: a token obtained since
	// satisfies a forced call.
	Asked time.Time
	// NoRefreshWarnings leaves Plan.RefreshWarnings and RefreshThen out: the
	// lifecycle never shows them (it warns once per renewal, about the token
	// it saved), and formatting them cost every run of `tokenkeeper token`.
	NoRefreshWarnings bool
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
	Warnings   []string
	// RefreshWarnings are about the stored refresh token dying: status shows
	// them; the lifecycle warns once per renewal, about the token it saved.
	// RefreshThen is what a person does about them before then (ThenLogin for
	// a grant only a login renews; ThenNothing when the advice is in the words).
	RefreshWarnings []string
	RefreshThen     Then
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
		var fe *FileError
		if !errors.As(s.TokenErr, &fe) {
			return Plan{Step: StepHuman, Err: unreadableRecord(s.TokenErr, s.TokenFile),
				Why: "the token file cannot be read"}
		}
		plan.SetAside = true // the lifecycle warns with where it went
	}
	tok := s.Token
	if want := s.tokenURL(); tok != nil && want != "" && tok.TokenURL != "" && tok.TokenURL != want {
		warns = append(warns, fmt.Sprintf("%s was issued by %s, not by the tokenURL in %s; a new grant is needed", s.TokenFile, redact.URL(tok.TokenURL), s.Creds.Path))
		tok = nil
	}
	if tok != nil && tok.fromFuture(s.Now) {
		// Token.Valid distrusts it; say why it is renewed.
		warns = append(warns, fmt.Sprintf("the token in %s was obtained at %s, in the future: this host's clock was set back; it is renewed", s.TokenFile, tok.ObtainedAt.Format(time.RFC3339)))
	}
	plan.Token, plan.Warnings = tok, warns
	if !p.NoRefreshWarnings {
		plan.RefreshWarnings = RefreshWarnings(s.Creds, tok, s.Now, p.WarnBefore)
		plan.RefreshThen = refreshThen(s.Creds, plan.RefreshWarnings)
	}
	plan.AccessValid = tok.Valid(s.Now, 0)
	plan.RefreshUsable = tok.RefreshUsable(s.Now) && !tok.refreshRefused()
	if s.CredsErr != nil { // 78 even while the token is valid: its renewal would fail
		plan.Step, plan.Err, plan.Why = StepHuman, credentialsError(s.CredsErr), credentialsWhy(s.CredsErr)
		return plan
	}
	// A remembered refusal stands until the credentials change: no request, the
	// same answer. Force does not get past it; a new grant started by a person
	// (Regrant: setup) does.
	if r := tok.refusal(); r != nil && r.Bootstrap != nil && !p.Regrant && s.Creds != nil && r.Credentials == CredentialsFingerprint(s.Creds) {
		err := refusalError(r.Bootstrap.endpointError(), s.Creds, (&Manager{}).geoTokenURL)
		refused := fmt.Sprintf("the grant was refused at %s; nothing is sent until the credentials file changes", r.At.Format(time.RFC3339))
		if tok.Valid(s.Now, p.Margin) && !p.Force {
			// The access token still serves; say now what will be needed.
			plan.Step, plan.Why = StepNothing, "the access token is valid"
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("%s; when the access token expires at %s, a person must act: %s",
				refused, tok.Expiry.Format(time.RFC3339), err.Hint))
			return plan
		}
		plan.Step, plan.Err, plan.Remembered, plan.Why = StepHuman, err, true, refused
		return plan
	}
	switch {
	case p.Regrant && s.Creds != nil && spentSeed(s.Creds, tok) != nil:
		// Even a person's new start never sends a pasted refresh token twice.
		plan.Step, plan.Err, plan.Why = StepHuman, spentSeed(s.Creds, tok), "the refresh token in the credentials file was already used"
		return plan
	case p.Regrant:
		plan.Step, plan.Why = StepBootstrap, "a new grant is asked for"
		return plan
	case tok.Valid(s.Now, p.Margin) && p.satisfiedBy(tok, p.Asked):
		plan.Step, plan.Why = StepNothing, "the access token is valid"
		return plan
	case s.Creds == nil:
		plan.Step, plan.Why = StepBootstrap, "the credentials are needed" // provisional
		return plan
	case plan.RefreshUsable:
		plan.Step, plan.Why = StepRefresh, "the next run renews with the refresh token"
		return plan
	}
	if credentials.Interactive(s.Creds.GrantType) {
		plan.Step, plan.Err, plan.Why = StepHuman, needsLogin(s.Creds, s.TokenFile), "a person must log in"
		return plan
	}
	if err := spentSeed(s.Creds, tok); err != nil {
		plan.Step, plan.Err, plan.Why = StepHuman, err, "the refresh token is dead and the one in the credentials file was already used"
		plan.Remembered = tok.refreshRefused()
		return plan
	}
	plan.Step, plan.Why = StepBootstrap, "the next run gets a new grant with "+s.Creds.GrantType
	if plan.SetAside {
		plan.Why = "the token file is not valid: the next run moves it aside and gets a new grant with " + s.Creds.GrantType
	}
	if r := tok.refusal(); r != nil && r.Bootstrap != nil {
		plan.Why = "the credentials changed since the grant was refused; the next run tries them once"
	}
	return plan
}

// spentSeed is the failure of a refresh_token grant whose pasted refresh token
// was already used: it must not be sent again, and only a person can get another.
func spentSeed(c *credentials.Credentials, tok *Token) *Error {
	if c.GrantType != credentials.GrantRefreshToken || tok == nil {
		return nil
	}
	if tok.SeedFingerprint != fingerprint(c.RefreshToken) && tok.RefreshToken != c.RefreshToken {
		return nil
	}
	return &Error{Kind: KindNeedsHuman, Then: ThenRun,
		Msg:  fmt.Sprintf("the refresh token is no longer accepted and the refreshToken in %s was already used", c.Path),
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
		return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Hint: re.Hint, Then: ThenRun}
	case errors.As(err, &ce):
		return &Error{Kind: KindCredentials, Err: err, Msg: ce.Error(), Hint: ce.Hint, Then: ThenRun}
	}
	if errors.Is(err, storage.ErrUnavailable) {
		return storeUnavailable(err)
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EISDIR) {
		return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Then: ThenRun,
			Hint: fmt.Sprintf("%s must be a regular file this user can read and write: move it away or fix its owner and mode", path)}
	}
	return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Then: ThenLater,
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
// expiry, as Concur's). A refresh token renewed on each refresh (Keycloak's
// rotating ones) is not dying, nor is one no refresh has shown fixed yet. A grant
// that needs no person to renew (client credentials) is never warned about.
func RefreshWarnings(c *credentials.Credentials, tok *Token, now time.Time, warnBefore time.Duration) []string {
	if tok == nil || tok.RefreshToken == "" || tok.RefreshExpiry.IsZero() || tok.refreshRefused() {
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

// refreshThen is what a person does about the refresh token's warnings: log
// in again, for a grant only a person can start.
func refreshThen(c *credentials.Credentials, warnings []string) Then {
	if len(warnings) > 0 && c != nil && credentials.Interactive(c.GrantType) {
		return ThenLogin
	}
	return ThenNothing
}

// reauthAdvice says what a person must do before the refresh token dies, in the
// provider's words (and OAuth's: no command; a grant a person starts says so).
func reauthAdvice(c *credentials.Credentials) string {
	if c == nil {
		return "before then, make sure the credentials file can get a new grant"
	}
	switch c.GrantType {
	case credentials.GrantPassword:
		if credentials.IsConcur(c.TokenURL) {
			return "before then, " + strings.ReplaceAll(newRequestToken, "{file}", c.Path)
		}
		return fmt.Sprintf("before then, make sure the username and password in %s (companyUUID, companyRequestToken) are still accepted", c.Path)
	case credentials.GrantRefreshToken:
		return fmt.Sprintf("before then, get a new refresh token from the provider and put it in %s (refreshToken)", c.Path)
	case credentials.GrantAuthorizationCode, credentials.GrantDeviceCode:
		return "before then, a person must log in again (grantType " + c.GrantType + ")"
	}
	return fmt.Sprintf("before then, make sure the credentials in %s can get a new grant", c.Path)
}

// CredentialsFingerprint identifies the credentials a refusal was given to,
// without revealing any of them: a change to any field a grant depends on
// changes it; one to a NotGrant field does not (it counts as empty, so that
// fingerprints remembered before such fields were left out still match).
func CredentialsFingerprint(c *credentials.Credentials) string {
	var b strings.Builder
	for _, f := range credentials.Fields {
		v := *f.Ptr(c)
		if f.NotGrant {
			v = ""
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

// needsLogin is the failure of a grant only a person can start: Then says a
// person logs in, and the caller names how (the CLI: its login command).
func needsLogin(c *credentials.Credentials, tokenFile string) *Error {
	return &Error{Kind: KindNeedsHuman, Then: ThenLogin,
		Msg: fmt.Sprintf("no usable refresh token in %s: grantType %s needs a person to log in", tokenFile, c.GrantType)}
}
