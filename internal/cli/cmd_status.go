package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
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
	Warnings    []string          `json:"warnings"`
	// Renewable is true when a valid token can be had without a human.
	Renewable bool   `json:"renewable"`
	Verdict   string `json:"verdict"`
	ExitCode  int    `json:"exit_code"`
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
	State            string     `json:"state"` // ok, missing, corrupt, unusable (not a regular file of this user)
	Problem          string     `json:"problem,omitempty"`
	AccessToken      string     `json:"access_token,omitempty"` // masked
	AccessValid      bool       `json:"access_valid"`
	AccessExpiresAt  *time.Time `json:"access_expires_at,omitempty"`
	RefreshToken     string     `json:"refresh_token,omitempty"` // masked
	RefreshUsable    bool       `json:"refresh_usable"`
	RefreshExpiresAt *time.Time `json:"refresh_expires_at,omitempty"`
	ObtainedAt       *time.Time `json:"obtained_at,omitempty"`
	TokenURL         string     `json:"token_url,omitempty"`
	Geolocation      string     `json:"geolocation,omitempty"`
}

func (a *app) cmdStatus(args []string) int {
	fs := newFlags("status")
	asJSON := fs.Bool("json", false, "")
	all, concurrency := fleetFlags(fs)
	if code := a.parseFlags(fs, args, 0); code >= 0 {
		return code
	}
	if *all {
		if code := a.checkConcurrency(*concurrency); code >= 0 {
			return code
		}
		return a.statusAll(*asJSON, *concurrency)
	}
	r := a.status(a.paths, time.Now())
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return a.fail(err)
		}
	} else {
		a.printStatus(a.stdout, r, time.Now())
	}
	return r.ExitCode
}

func (a *app) status(p storage.Paths, now time.Time) *statusReport {
	r := &statusReport{Profile: p.Profile, Warnings: []string{}, Files: statusFiles{
		Credentials: p.CredentialsFile, CredentialsSource: p.ConfigSource,
		Token: p.TokenFile, TokenSource: p.StateSource, Lock: p.LockFile,
	}}
	if lock, err := storage.OpenFileStore(p, nil).LockFile(); err == nil {
		r.Files.Lock = lock // named after the token file a link leads to
	}
	c := a.statusCredentials(r, p)
	tok := a.statusToken(r, p, now)
	for _, path := range []string{p.CredentialsFile, p.TokenFile} {
		if w := storage.PermissionWarning(path); w != "" {
			r.Warnings = append(r.Warnings, w)
		}
	}
	r.Warnings = append(r.Warnings, storage.DirWarnings(p)...)
	a.verdict(r, c, tok, now)
	return r
}

func (a *app) statusCredentials(r *statusReport, p storage.Paths) *credentials.Credentials {
	c, err := credentials.Load(p.CredentialsFile)
	var inv *credentials.InvalidError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.Credentials.State = "missing"
		return nil
	case errors.As(err, &inv):
		r.Credentials.State = "invalid"
		if errors.Is(err, credentials.ErrIncomplete) {
			r.Credentials.State = "incomplete"
		}
		for _, pr := range inv.Problems {
			r.Credentials.Problems = append(r.Credentials.Problems, pr.String())
		}
		return nil
	case err != nil:
		r.Credentials.State = "invalid"
		r.Credentials.Problems = []string{a.redact(err.Error())}
		return nil
	}
	a.addSecrets(c.ClientSecret, c.CompanyRequestToken, c.RefreshToken)
	r.Credentials.State = "ok"
	r.Credentials.TokenURL = c.TokenURL
	r.Credentials.GrantType = c.GrantType
	r.Credentials.Fields = c.Redacted()
	r.Warnings = append(r.Warnings, c.Warnings...)
	return c
}

func (a *app) statusToken(r *statusReport, p storage.Paths, now time.Time) *refresh.Token {
	m := &refresh.Manager{Paths: p}
	tok, err := m.Load()
	var rec *storage.RecordError
	switch {
	case errors.As(err, &rec):
		r.Token.State = "unusable"
		r.Token.Problem = err.Error()
		r.Warnings = append(r.Warnings, rec.Hint)
		return nil
	case err != nil:
		r.Token.State = "corrupt"
		r.Token.Problem = err.Error()
		return nil
	case tok == nil:
		r.Token.State = "missing"
		return nil
	}
	a.addSecrets(tok.AccessToken, tok.RefreshToken)
	st := &r.Token
	st.State = "ok"
	st.AccessToken = maskToken(tok.AccessToken)
	st.RefreshToken = maskToken(tok.RefreshToken)
	st.AccessValid = tok.Valid(now, 0)
	st.RefreshUsable = tok.RefreshUsable(now)
	st.AccessExpiresAt = timePtr(tok.Expiry)
	st.RefreshExpiresAt = timePtr(tok.RefreshExpiry)
	st.ObtainedAt = timePtr(tok.ObtainedAt)
	st.TokenURL = tok.TokenURL
	st.Geolocation = tok.Geolocation
	if tok.RefreshToken != "" && !tok.RefreshExpiry.IsZero() && tok.RefreshExpiry.Sub(now) < a.g.warnBefore {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the refresh token expires %s", refresh.Until(now, tok.RefreshExpiry)))
	}
	return tok
}

// verdict decides whether a token can be had without a human (exit 0), or what a
// human must do: fix credentials (78) or re-authorise (77). A credentials problem
// is 78 even while the stored token is valid: its renewal will fail.
func (a *app) verdict(r *statusReport, c *credentials.Credentials, tok *refresh.Token, now time.Time) {
	switch {
	case c == nil:
		r.ExitCode, r.Verdict = exitConfig, "credentials "+r.Credentials.State+": fix "+r.Files.Credentials
	case r.Token.State == "unusable":
		r.ExitCode, r.Verdict = exitConfig, "the token file cannot be used: "+r.Token.Problem
	case tok != nil && tok.TokenURL != "" && tok.TokenURL != c.TokenURL:
		r.Renewable, r.ExitCode, r.Verdict = true, exitOK, "the stored token is from another tokenURL; the next run gets a new grant"
	case tok != nil && tok.Valid(now, 0):
		r.Renewable, r.ExitCode, r.Verdict = true, exitOK, "ok: the access token is valid"
	case tok != nil && tok.RefreshUsable(now):
		r.Renewable, r.ExitCode, r.Verdict = true, exitOK, "ok: the next run renews with the refresh token"
	case c.GrantType == credentials.GrantRefreshToken && tok != nil && tok.RefreshToken == c.RefreshToken:
		r.ExitCode, r.Verdict = exitNeedsHuman, "the refresh token has expired: put a new one in "+r.Files.Credentials+" (refreshToken)"
	default:
		r.Renewable, r.ExitCode, r.Verdict = true, exitOK, "ok: the next run gets a new grant with "+c.GrantType
	}
}

func (a *app) printStatus(w io.Writer, r *statusReport, now time.Time) {
	row := func(k, v string) { fmt.Fprintf(w, "%-15s %s\n", k+":", a.redact(v)) }
	row("profile", r.Profile)
	row("credentials", fmt.Sprintf("%s (%s)", r.Files.Credentials, r.Files.CredentialsSource))
	row("token file", fmt.Sprintf("%s (%s)", r.Files.Token, r.Files.TokenSource))
	switch r.Credentials.State {
	case "ok":
		row("token endpoint", r.Credentials.TokenURL)
		row("grant", fmt.Sprintf("%s, client %s", r.Credentials.GrantType, r.Credentials.Fields["appID"]))
	default:
		row("  state", r.Credentials.State)
		for _, p := range r.Credentials.Problems {
			row("  problem", p)
		}
	}
	t := r.Token
	switch t.State {
	case "ok":
		row("access token", describeExpiry(now, deref(t.AccessExpiresAt), "unknown expiry (renewed on next use)"))
		if t.RefreshToken == "" {
			row("refresh token", "none")
		} else {
			row("refresh token", describeExpiry(now, deref(t.RefreshExpiresAt), "no expiry advertised"))
		}
		if t.ObtainedAt != nil {
			row("last renewal", fmt.Sprintf("%s (%s)", t.ObtainedAt.Local().Format(time.RFC3339), refresh.Until(now, *t.ObtainedAt)))
		}
		if t.Geolocation != "" {
			row("geolocation", t.Geolocation)
		}
	default:
		row("token", t.State+" "+t.Problem)
	}
	for _, wn := range r.Warnings {
		row("warning", wn)
	}
	row("verdict", r.Verdict)
}

// maskToken shows only enough of a token to tell two apart.
func maskToken(s string) string {
	if s == "" {
		return ""
	}
	if len(s) < 16 {
		return fmt.Sprintf("set (%d chars)", len(s))
	}
	return fmt.Sprintf("%s… (%d chars)", s[:4], len(s))
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
