package refresh

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// TestDecide runs the one decision over every state the token record and the
// credentials can be in: what the next run does, and the kind it fails with.
func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	const url = "https://auth.example.com/token"
	creds := func(grant string, edit ...func(*credentials.Credentials)) *credentials.Credentials {
		c := &credentials.Credentials{TokenURL: url, GrantType: grant, AppID: "app", ClientSecret: "fake-secret",
			CompanyUUID: "uuid", CompanyRequestToken: "fake-crt", RefreshToken: "fake-seed", Path: "/cfg/credentials.json"}
		for _, e := range edit {
			e(c)
		}
		return c
	}
	password, seeded := creds(credentials.GrantPassword), creds(credentials.GrantRefreshToken)
	login := creds(credentials.GrantAuthorizationCode)
	tok := func(edit ...func(*Token)) *Token {
		t := &Token{AccessToken: "fake-at", RefreshToken: "fake-rt", TokenURL: url,
			ObtainedAt: now.Add(-10 * time.Minute), Expiry: now.Add(50 * time.Minute), RefreshExpiry: now.Add(30 * 24 * time.Hour)}
		for _, e := range edit {
			e(t)
		}
		return t
	}
	expired := func(t *Token) { t.ObtainedAt, t.Expiry = now.Add(-2*time.Hour), now.Add(-time.Hour) }
	refusedRefresh := func(t *Token) { t.Refusal = &Refusal{At: now.Add(-time.Hour), Refresh: fingerprint(t.RefreshToken)} }
	refusedGrant := func(c *credentials.Credentials) func(*Token) {
		return func(t *Token) {
			t.Refusal = &Refusal{At: now.Add(-time.Hour), Refresh: fingerprint(t.RefreshToken), Credentials: CredentialsFingerprint(c),
				Bootstrap: &refusedAnswer{URL: url, Status: 400, Code: "invalid_grant", Description: "stale"}}
		}
	}
	incomplete := &credentials.InvalidError{Path: "/cfg/credentials.json", Problems: []credentials.Problem{{Field: "appID", Msg: "required"}}}

	tests := []struct {
		name     string
		s        State
		o        Options
		step     Step
		kind     Kind // for StepHuman
		why      string
		remember bool
	}{
		{"missing record", State{Creds: password}, Options{}, StepBootstrap, 0, "new grant with password", false},
		{"credentials missing", State{CredsErr: &credentials.FileError{Path: "/cfg/credentials.json", Err: fs.ErrNotExist}}, Options{}, StepHuman, KindCredentials, "credentials missing", false},
		{"credentials unfilled", State{CredsErr: incomplete}, Options{}, StepHuman, KindCredentials, "credentials invalid", false},
		{"credentials oversized", State{CredsErr: &credentials.FileError{Path: "/cfg/credentials.json", Err: errors.New("file is larger than 1048576 bytes")}}, Options{}, StepHuman, KindCredentials, "credentials invalid", false},
		{"credentials broken while the token is valid", State{CredsErr: incomplete, Token: tok()}, Options{}, StepHuman, KindCredentials, "", false},
		{"corrupt record", State{Creds: password, TokenErr: &CorruptRecordError{Path: "/st/t.json", Err: errors.New("not JSON")}}, Options{}, StepBootstrap, 0, "new grant", false},
		{"record is a directory", State{Creds: password, TokenErr: fmt.Errorf("read: %w", syscall.EISDIR)}, Options{}, StepHuman, KindCredentials, "cannot be read", false},
		{"record unreadable for now", State{Creds: password, TokenErr: errors.New("too many open files")}, Options{}, StepHuman, KindTemporary, "cannot be read", false},
		{"valid", State{Creds: password, Token: tok()}, Options{}, StepNothing, 0, "valid", false},
		{"valid, credentials not loaded (token's fast path)", State{Token: tok()}, Options{}, StepNothing, 0, "valid", false},
		{"valid but forced", State{Creds: password, Token: tok()}, Options{Force: true}, StepRefresh, 0, "refresh token", false},
		{"expiring within the margin", State{Creds: password, Token: tok(func(t *Token) { t.Expiry = now.Add(30 * time.Second) })}, Options{}, StepRefresh, 0, "refresh token", false},
		{"expired with a live refresh token", State{Creds: password, Token: tok(expired)}, Options{}, StepRefresh, 0, "refresh token", false},
		{"expired, refresh token expired", State{Creds: password, Token: tok(expired, func(t *Token) { t.RefreshExpiry = now.Add(-time.Minute) })}, Options{}, StepBootstrap, 0, "new grant", false},
		{"refused refresh, password grant", State{Creds: password, Token: tok(expired, refusedRefresh)}, Options{}, StepBootstrap, 0, "new grant", false},
		{"refused refresh, pasted seed spent", State{Creds: seeded, Token: tok(expired, refusedRefresh, func(t *Token) { t.SeedFingerprint = fingerprint("fake-seed") })}, Options{}, StepHuman, KindNeedsHuman, "a new refresh token", true},
		{"refused bootstrap", State{Creds: password, Token: tok(expired, refusedGrant(password))}, Options{}, StepHuman, KindNeedsHuman, "the grant was refused", true},
		{"refused bootstrap, forced", State{Creds: password, Token: tok(expired, refusedGrant(password))}, Options{Force: true}, StepHuman, KindNeedsHuman, "the grant was refused", true},
		{"refused bootstrap, a new setup", State{Creds: password, Token: tok(expired, refusedGrant(password))}, Options{Regrant: true}, StepBootstrap, 0, "new grant", false},
		{"refused bootstrap, access token still valid", State{Creds: password, Token: tok(refusedGrant(password))}, Options{}, StepNothing, 0, "valid", false},
		{"refused bootstrap, record without tokens", State{Creds: password, Token: &Token{TokenURL: url, Refusal: &Refusal{At: now, Credentials: CredentialsFingerprint(password), Bootstrap: &refusedAnswer{URL: url, Status: 401, Code: "invalid_client"}}}}, Options{}, StepHuman, KindCredentials, "the grant was refused", true},
		{"refused bootstrap, retried", State{Creds: password, Token: tok(expired, refusedGrant(password))}, Options{Retry: true}, StepBootstrap, 0, "new grant", false},
		{"refused bootstrap, access token still valid, retried", State{Creds: password, Token: tok(refusedGrant(password))}, Options{Retry: true}, StepBootstrap, 0, "new grant", false},
		{"refused refresh, login", State{Creds: login, Token: tok(expired, refusedRefresh)}, Options{}, StepHuman, KindNeedsHuman, "log in", true},
		{"refused refresh, login, access token still valid", State{Creds: login, Token: tok(refusedRefresh)}, Options{}, StepNothing, 0, "valid", false},
		{"refused refresh, login, retried", State{Creds: login, Token: tok(expired, refusedRefresh)}, Options{Retry: true}, StepRefresh, 0, "refresh token", false},
		{"refused refresh, login, access token still valid, retried", State{Creds: login, Token: tok(refusedRefresh)}, Options{Retry: true}, StepRefresh, 0, "refresh token", false},
		{"refused refresh, pasted seed spent, retried", State{Creds: seeded, Token: tok(expired, refusedRefresh, func(t *Token) { t.SeedFingerprint = fingerprint("fake-seed") })}, Options{Retry: true}, StepRefresh, 0, "refresh token", false},
		{"refused refresh, password grant, retried", State{Creds: password, Token: tok(expired, refusedRefresh)}, Options{Retry: true}, StepBootstrap, 0, "new grant", false},
		{"nothing remembered, retried", State{Creds: password, Token: tok()}, Options{Retry: true}, StepNothing, 0, "valid", false},
		{"credentials changed after a refusal", State{Creds: creds(credentials.GrantPassword, func(c *credentials.Credentials) { c.CompanyRequestToken = "fake-new-crt" }), Token: tok(expired, refusedGrant(password))}, Options{}, StepBootstrap, 0, "credentials changed", false},
		{"spent seed", State{Creds: seeded, Token: tok(expired, func(t *Token) { t.RefreshExpiry = now.Add(-time.Minute); t.SeedFingerprint = fingerprint("fake-seed") })}, Options{}, StepHuman, KindNeedsHuman, "a new refresh token", false},
		{"new seed pasted after a spent one", State{Creds: creds(credentials.GrantRefreshToken, func(c *credentials.Credentials) { c.RefreshToken = "fake-new-seed" }), Token: tok(expired, refusedRefresh, func(t *Token) { t.SeedFingerprint = fingerprint("fake-seed") })}, Options{}, StepBootstrap, 0, "new grant", false},
		{"clock set back", State{Creds: password, Token: tok(func(t *Token) { t.ObtainedAt, t.Expiry = now.Add(3*time.Hour), now.Add(4*time.Hour) })}, Options{}, StepRefresh, 0, "refresh token", false},
		{"clock within the skew", State{Creds: password, Token: tok(func(t *Token) { t.ObtainedAt, t.Expiry = now.Add(time.Minute), now.Add(time.Hour) })}, Options{}, StepNothing, 0, "valid", false},
		{"issued by another token URL", State{Creds: creds(credentials.GrantPassword, func(c *credentials.Credentials) { c.TokenURL = "https://other.example.com/token" }), Token: tok()}, Options{}, StepBootstrap, 0, "new grant", false},
		{"issuer: the record keeps what discovery found", State{Creds: creds(credentials.GrantPassword, func(c *credentials.Credentials) { c.TokenURL, c.Issuer = "", "https://auth.example.com" }), Token: tok()}, Options{}, StepNothing, 0, "valid", false},
		{"a new setup while valid", State{Creds: password, Token: tok()}, Options{Regrant: true}, StepBootstrap, 0, "new grant is asked", false},
		{"a new setup with a spent seed", State{Creds: seeded, Token: tok(expired, refusedRefresh, func(t *Token) { t.SeedFingerprint = fingerprint("fake-seed") })}, Options{Regrant: true}, StepHuman, KindNeedsHuman, "a new refresh token", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.Now, tt.s.Record = now, "/st/t.json"
			p := Decide(tt.s, Policy{Options: tt.o, Margin: DefaultMargin, WarnBefore: DefaultWarnBefore, Asked: now})
			if p.Step != tt.step {
				t.Fatalf("step %v (%s), want %v", p.Step, p.Why, tt.step)
			}
			if !strings.Contains(p.Why, tt.why) {
				t.Errorf("why %q, want it to say %q", p.Why, tt.why)
			}
			checkWords(t, "the plan", append(append([]string{p.Why}, p.Warnings...), p.RefreshWarnings...)...)
			if p.Err != nil {
				checkError(t, "the plan", p.Err)
			}
			if p.Remembered != tt.remember {
				t.Errorf("remembered %v, want %v", p.Remembered, tt.remember)
			}
			if tt.step != StepHuman {
				if p.Err != nil {
					t.Errorf("err %v with step %v", p.Err, p.Step)
				}
				return
			}
			if p.Err == nil || p.Err.Kind != tt.kind {
				t.Fatalf("err %v, want kind %v", p.Err, tt.kind)
			}
			if p.Remembered && (!strings.Contains(p.Err.Msg, "refused at ") || !p.Err.Retry || !p.Retry) {
				t.Errorf("a remembered refusal %q (retry %v, %v): want when it was refused, and a retry named", p.Err.Msg, p.Err.Retry, p.Retry)
			}
			for _, secret := range []string{"fake-secret", "fake-crt", "fake-seed", "fake-rt", "fake-at"} {
				if strings.Contains(p.Err.Msg+p.Err.Hint+p.Why+strings.Join(p.Warnings, ""), secret) {
					t.Errorf("the plan shows a secret: %q / %q", p.Err.Msg, p.Err.Hint)
				}
			}
		})
	}
}

// TestDecideRemembersTheSameAnswer: a remembered refusal fails with the message
// and hint the refusal itself gave, saying when it was given.
func TestDecideRemembersTheSameAnswer(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	c := &credentials.Credentials{TokenURL: "https://us.api.concursolutions.com/oauth2/v0/token", GrantType: credentials.GrantPassword,
		AppID: "app", ClientSecret: "s", CompanyUUID: "u", CompanyRequestToken: "r", Path: "/cfg/credentials.json"}
	ee := &EndpointError{URL: c.TokenURL, Status: 400, Code: "invalid_grant", Description: "Incorrect Credentials", ProviderCode: 5}
	first := refusalError(ee, c, (&Manager{}).geoTokenURL)
	tok := &Token{TokenURL: c.TokenURL, Refusal: &Refusal{At: now, Credentials: CredentialsFingerprint(c), Bootstrap: answerOf(ee)}}
	later := now.Add(3*time.Hour + 10*time.Minute)
	p := Decide(State{Creds: c, Token: tok, Now: later}, Policy{Margin: DefaultMargin, Asked: later})
	want := first.Msg + " (refused at 12:00 UTC, 3h10m ago; nothing is sent until the credentials file changes)"
	if p.Err == nil || p.Err.Msg != want || p.Err.Hint != first.Hint || p.Err.Kind != first.Kind || !p.Err.Retry {
		t.Fatalf("remembered %+v, want the first answer %+v, when it was given, and a retry", p.Err, first)
	}
	p = Decide(State{Creds: c, Token: tok, Now: now.Add(50 * time.Hour)}, Policy{Margin: DefaultMargin, Asked: now})
	if !strings.Contains(p.Err.Msg, "(refused at 2026-11-22 12:00 UTC, 2d2h ago;") {
		t.Errorf("remembered two days later: %q, want the date", p.Err.Msg)
	}
}

// TestDecideIssuedBy: a record from another token URL is said to have been
// issued by it only when it holds a token; a record of a refusal alone (a
// wrong URL's 404) is dropped without that claim.
func TestDecideIssuedBy(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	c := &credentials.Credentials{TokenURL: "https://auth.example.com/token", GrantType: credentials.GrantClientCredentials,
		AppID: "app", ClientSecret: "s", Path: "/cfg/credentials.json"}
	refusal := &Refusal{At: now.Add(-time.Minute), Credentials: "old",
		Bootstrap: &refusedAnswer{URL: "https://auth.example.com/wrong", Status: 404}}
	for _, tt := range []struct {
		name string
		tok  *Token
		warn bool
	}{
		{"refusal only", &Token{TokenURL: "https://auth.example.com/wrong", Refusal: refusal}, false},
		{"a token", &Token{TokenURL: "https://auth.example.com/old", AccessToken: "fake-at", RefreshToken: "fake-rt",
			ObtainedAt: now.Add(-time.Minute), Expiry: now.Add(time.Hour)}, true},
	} {
		p := Decide(State{Creds: c, Token: tt.tok, Record: "/st/t.json", Now: now}, Policy{Margin: DefaultMargin, Asked: now})
		warned := len(p.Warnings) == 1 && strings.Contains(p.Warnings[0], "was issued by")
		if p.Step != StepBootstrap || p.Token != nil || warned != tt.warn || (!tt.warn && len(p.Warnings) > 0) {
			t.Errorf("%s: %v, token %v, warnings %q; want a new grant, warned %v", tt.name, p.Step, p.Token, p.Warnings, tt.warn)
		}
	}
}

// TestDecideExplains: with Policy.Explain a kept access token's Why says until
// when it is valid and the margin it is held to; without, the words are the
// short constant the fast path of a valid token can afford.
func TestDecideExplains(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	c := &credentials.Credentials{TokenURL: "https://auth.example.com/token", GrantType: credentials.GrantClientCredentials,
		AppID: "app", ClientSecret: "s", Path: "/cfg/credentials.json"}
	tok := &Token{AccessToken: "fake-at", TokenURL: c.TokenURL, ObtainedAt: now.Add(-5 * time.Minute), Expiry: now.Add(55*time.Minute + 10*time.Second)}
	tests := []struct {
		name string
		p    Policy
		want string
	}{
		{"not asked", Policy{Margin: DefaultMargin}, "the access token is valid"},
		{"margin", Policy{Margin: 5 * time.Minute, Explain: true},
			"the access token is valid until 2026-11-22T12:55:10Z (in 55m), beyond the margin of 5m0s"},
		{"half its lifetime", Policy{Margin: 40 * time.Minute, Explain: true},
			"the access token is valid until 2026-11-22T12:55:10Z (in 55m), beyond the margin of 30m5s (half its lifetime)"},
		{"forced, renewed since", Policy{Margin: DefaultMargin, Options: Options{Force: true}, Asked: now.Add(-6 * time.Minute), Explain: true},
			"the access token is valid until 2026-11-22T12:55:10Z (in 55m), beyond the margin of 1m0s; it was renewed since this run was asked"},
	}
	for _, tt := range tests {
		p := Decide(State{Creds: c, Token: tok, Now: now}, tt.p)
		if p.Step != StepNothing || p.Why != tt.want {
			t.Errorf("%s: %v %q, want nothing %q", tt.name, p.Step, p.Why, tt.want)
		}
	}
}

// TestRefreshWarnings: the refresh token's expiry is warned about only when it
// will really die, and for grants a person must renew.
func TestRefreshWarnings(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		grant string
		tok   Token
		want  string
	}{
		{"fixed expiry within a week", credentials.GrantPassword, Token{RefreshToken: "r", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(3 * 24 * time.Hour), RefreshFixed: true}, "Company Request Token screen"},
		{"fixed expiry beyond a week", credentials.GrantPassword, Token{RefreshToken: "r", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(30 * 24 * time.Hour), RefreshFixed: true}, ""},
		{"sliding 30 minutes", credentials.GrantRefreshToken, Token{RefreshToken: "r", Expiry: now.Add(5 * time.Minute), RefreshExpiry: now.Add(30 * time.Minute)}, ""},
		{"dies before the access token", credentials.GrantRefreshToken, Token{RefreshToken: "r", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(30 * time.Minute)}, "get a new refresh token"},
		{"client credentials", credentials.GrantClientCredentials, Token{RefreshToken: "r", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(time.Minute), RefreshFixed: true}, ""},
		{"no expiry advertised", credentials.GrantPassword, Token{RefreshToken: "r", Expiry: now.Add(time.Hour)}, ""},
		{"a login's grant, fixed", credentials.GrantAuthorizationCode, Token{RefreshToken: "r", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(3 * 24 * time.Hour), RefreshFixed: true}, "log in again"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &credentials.Credentials{TokenURL: "https://us.api.concursolutions.com/oauth2/v0/token", GrantType: tt.grant, Path: "/c.json"}
			w := RefreshWarnings(c, &tt.tok, now, DefaultWarnBefore)
			got := strings.Join(w, "\n")
			if (got != "") != (tt.want != "") || !strings.Contains(got, tt.want) {
				t.Errorf("warnings %q, want %q", got, tt.want)
			}
			checkWords(t, "refresh warning", w...)
			// What a person does beyond the words: the caller's login, for a
			// grant only a login renews; the same in the decision.
			wantThen := NextNone
			if got != "" && credentials.Interactive(tt.grant) {
				wantThen = NextLogin
			}
			p := Decide(State{Creds: c, Token: &tt.tok, Now: now}, Policy{Margin: DefaultMargin, WarnBefore: DefaultWarnBefore, Asked: now})
			if then := refreshNext(c, w); then != wantThen || p.RefreshNext != wantThen {
				t.Errorf("then %v, plan's %v; want %v", then, p.RefreshNext, wantThen)
			}
			// The lifecycle's decision leaves them out, and nothing else changes.
			q := Decide(State{Creds: c, Token: &tt.tok, Now: now}, Policy{Margin: DefaultMargin, WarnBefore: DefaultWarnBefore, Asked: now, NoRefreshWarnings: true})
			if q.RefreshWarnings != nil || q.RefreshNext != NextNone || q.Step != p.Step || q.Why != p.Why {
				t.Errorf("NoRefreshWarnings: plan %+v, want %+v without refresh warnings", q, p)
			}
		})
	}
	generic := &credentials.Credentials{TokenURL: "https://auth.example.com/token", GrantType: credentials.GrantPassword, Path: "/c.json"}
	w := RefreshWarnings(generic, &Token{RefreshToken: "r", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(time.Hour * 24), RefreshFixed: true}, now, DefaultWarnBefore)
	if len(w) != 1 || strings.Contains(w[0], "Concur") {
		t.Errorf("generic endpoint warning %q: want one, in no provider's words", w)
	}
}
