package refresh

// A token endpoint's success answer with a malformed field (docs/security.md, "A
// rotated refresh token is never dropped"), each against the fake
// endpoint with single-use refresh tokens: the refresh token the answer rotated to
// is the one saved, the one sent is never sent again, and the next run renews with
// the saved one. Names here start with "resp".

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// respField is one field edit of a success answer, as raw JSON; nil removes it.
type respField = map[string]json.RawMessage

func respJWT(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(fmt.Appendf(nil, `{"exp":%d}`, exp.Unix())) + "." + enc([]byte("sig"))
}

func respString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// respCases are answers with a rotated refresh token and a malformed field. access
// says whose access token must be saved: the answer's ("answer") or the previous one
// ("previous": the answer's was unusable). warn is a fragment of the warning.
var respCases = []struct {
	name   string
	fields respField
	access string
	warn   string
}{
	{"expires_in 1e400", respField{"expires_in": json.RawMessage(`1e400`)}, "answer", `"expires_in": number out of range`},
	{"expires_in NaN string", respField{"expires_in": respString("NaN")}, "answer", `"expires_in": not a finite number`},
	{"expires_in Infinity string", respField{"expires_in": respString("Infinity")}, "answer", `"expires_in"`},
	{"expires_in an object", respField{"expires_in": json.RawMessage(`{"s":3600}`)}, "answer", `"expires_in": want a number, got an object`},
	{"expires_in an array", respField{"expires_in": json.RawMessage(`[3600]`)}, "answer", `"expires_in"`},
	{"expires_in a boolean", respField{"expires_in": json.RawMessage(`true`)}, "answer", `"expires_in"`},
	{"expires_in not numeric", respField{"expires_in": respString("soon")}, "answer", `"expires_in"`},
	{"expires_in negative", respField{"expires_in": json.RawMessage(`-30`)}, "previous", "expired on arrival (expires_in -30)"},
	{"expires_in -1e400", respField{"expires_in": json.RawMessage(`-1e400`)}, "answer", `"expires_in": number out of range`},
	{"refresh_expires_in NaN", respField{"refresh_expires_in": respString("NaN")}, "answer", `"refresh_expires_in"`},
	{"refresh_expires_in 1e400", respField{"refresh_expires_in": json.RawMessage(`1e400`)}, "answer", `"refresh_expires_in"`},
	{"refresh_expires_in an object", respField{"refresh_expires_in": json.RawMessage(`{}`)}, "answer", `"refresh_expires_in"`},
	{"token_type an object", respField{"token_type": json.RawMessage(`{"t":"Bearer"}`)}, "answer", `"token_type"`},
	{"token_type with a line break", respField{"token_type": respString("Bearer\r\nX-Injected: 1")}, "answer", `"token_type": not a word`},
	{"scope an array", respField{"scope": json.RawMessage(`["a","b"]`)}, "answer", `"scope"`},
	{"geolocation a number", respField{"geolocation": json.RawMessage(`42`)}, "answer", `"geolocation"`},
	{"access_token with a line break", respField{"access_token": respString("at-bad\nline")}, "previous", "line break"},
	{"access_token with a space", respField{"access_token": respString("at bad")}, "previous", "a space"},
	{"access_token with a control character", respField{"access_token": respString("at-bad\x01")}, "previous", "control character"},
	{"access_token not ASCII", respField{"access_token": respString("at-bäd")}, "previous", "non-ASCII"},
	{"access_token invalid UTF-8", respField{"access_token": json.RawMessage("\"at-bad\xff\"")}, "previous", "non-ASCII"},
	{"access_token a number", respField{"access_token": json.RawMessage(`12345`)}, "previous", `"access_token": want a string`},
	{"access_token empty", respField{"access_token": respString("")}, "previous", ""},
	{"access_token absent", respField{"access_token": nil}, "previous", ""},
	{"access_token too long", respField{"access_token": respString(strings.Repeat("a", maxAccessToken+1))}, "previous", "bytes long"},
	{"expires_in 1e-300: no time at all", respField{"expires_in": json.RawMessage(`1e-300`)}, "previous", "expired on arrival (expires_in 1e-300)"},
	{"JWT access token expired on arrival", respField{"expires_in": nil, "access_token": respString(respJWT(start.Add(-time.Hour)))}, "previous", "JWT exp"},
}

// TestRespRotatedRefreshTokenNeverDropped: whatever else is wrong with a success
// answer, the rotated refresh token in it is saved; the refresh token sent is not
// sent again; an unusable access token is not saved over the previous one, which
// is handed out while valid (the run then ends "kept"); and the next run renews with
// the saved refresh token, without a new grant.
func TestRespRotatedRefreshTokenNeverDropped(t *testing.T) {
	for _, tt := range respCases {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
			first := e.mustEnsure(t, Options{}, ActionBootstrapped)
			e.clock.Add(59*time.Minute + 30*time.Second) // inside the margin, still valid
			e.fs.Fail(fakeserver.Fault{Fields: tt.fields})
			r, err := e.ensure(t, Options{})
			if err != nil {
				t.Fatalf("Ensure: %v", err)
			}
			e.wantCounts(t, 1, 1) // one refresh, never retried
			saved := e.stored(t)
			if saved.RefreshToken == first.Token.RefreshToken || !e.fs.ValidRefreshToken(saved.RefreshToken) {
				t.Fatal("the rotated refresh token was not saved")
			}
			switch tt.access {
			case "answer":
				if r.Action != ActionRefreshed || saved.AccessToken == first.Token.AccessToken || !e.fs.ValidAccessToken(saved.AccessToken) {
					t.Errorf("Action %q, saved the previous access token: %v; want the answer's", r.Action, saved.AccessToken == first.Token.AccessToken)
				}
			case "previous":
				if r.Action != ActionKept || saved.AccessToken != first.Token.AccessToken || r.Token.AccessToken != first.Token.AccessToken {
					t.Errorf("Action %q, saved the previous access token: %v; want it kept", r.Action, saved.AccessToken == first.Token.AccessToken)
				}
				if !saved.Expiry.Equal(first.Token.Expiry) || !saved.ObtainedAt.Equal(first.Token.ObtainedAt) {
					t.Errorf("the previous access token's lifetime changed: %v–%v, want %v–%v", saved.ObtainedAt, saved.Expiry, first.Token.ObtainedAt, first.Token.Expiry)
				}
				if !hasWarning(r, "no usable access token", "saved its refresh token") {
					t.Errorf("warnings %q, want one saying the access token was unusable", r.Warnings)
				}
			}
			if tt.warn != "" && !hasWarning(r, "left out of the token endpoint's answer", tt.warn) {
				t.Errorf("warnings %q, want one naming %s", r.Warnings, tt.warn)
			}
			// The next run renews with what was saved: the grant is not lost.
			e.clock.Add(2 * time.Hour)
			e.mustEnsure(t, Options{}, ActionRefreshed)
			e.wantCounts(t, 1, 2)
		})
	}
}

// TestRespNoUsableAccessTokenExpiredPrevious: when the answer's access token is
// unusable and the previous one has expired, the run fails for now (exit 75), never
// handing out an expired or bad token; the rotated refresh token is saved all the
// same, and renews on the next run. Here: expires_in < 0.
func TestRespNoUsableAccessTokenExpiredPrevious(t *testing.T) {
	for _, fields := range []respField{
		{"expires_in": json.RawMessage(`-1`)},
		{"access_token": respString("at\nbad")},
	} {
		t.Run(string(fields["expires_in"])+string(fields["access_token"]), func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
			first := e.mustEnsure(t, Options{}, ActionBootstrapped)
			e.clock.Add(2 * time.Hour)
			e.fs.Fail(fakeserver.Fault{Fields: fields})
			r, err := e.ensure(t, Options{})
			if KindOf(err) != KindTemporary {
				t.Fatalf("Ensure: %v (kind %v), want KindTemporary", err, KindOf(err))
			}
			if r != nil && r.Token != nil {
				t.Error("a token was handed out")
			}
			if !strings.Contains(err.Error(), "no usable access token") || HintOf(err) == "" {
				t.Errorf("error %q, hint %q", err, HintOf(err))
			}
			saved := e.stored(t)
			if !e.fs.ValidRefreshToken(saved.RefreshToken) || saved.AccessToken != first.Token.AccessToken {
				t.Error("want the rotated refresh token beside the previous access token")
			}
			e.wantCounts(t, 1, 1)
			e.mustEnsure(t, Options{}, ActionRefreshed)
			e.wantCounts(t, 1, 2)
		})
	}
}

// TestRespBootstrapWithoutUsableAccessToken: a first grant whose access token is
// unusable saves its refresh token alone; the run fails for now, and the next one
// renews with that refresh token instead of asking for a new grant.
func TestRespBootstrapWithoutUsableAccessToken(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	e.fs.Fail(fakeserver.Fault{Fields: respField{"access_token": respString("at\x7f")}})
	_, err := e.ensure(t, Options{})
	if KindOf(err) != KindTemporary {
		t.Fatalf("Ensure: %v (kind %v), want KindTemporary", err, KindOf(err))
	}
	saved := e.stored(t)
	if saved.AccessToken != "" || !e.fs.ValidRefreshToken(saved.RefreshToken) {
		t.Fatalf("saved access token %v, live refresh token %v; want the refresh token alone", saved.AccessToken != "", e.fs.ValidRefreshToken(saved.RefreshToken))
	}
	e.mustEnsure(t, Options{}, ActionRefreshed)
	e.wantCounts(t, 1, 1)
}

// TestRespSpentAnswerNotRetried: a 2xx that names a refresh_token that cannot be
// read may have spent the refresh token sent (rotated to one we cannot read): it is
// not sent again in the same run (docs/contract.md §2). An answer that names none spent nothing
// (RFC 6749 §6) and is retried, like a proxy's page (docs/contract.md §2 step 7), and so is a
// bootstrap grant's unreadable answer.
func TestRespSpentAnswerNotRetried(t *testing.T) {
	tests := []struct {
		name     string
		fault    fakeserver.Fault
		refreshs int // refresh requests the run sends
	}{
		{"refresh_token a number, no access token", fakeserver.Fault{Fields: respField{"refresh_token": json.RawMessage(`42`), "access_token": nil}}, 1},
		{"refresh_token an object, access token bad", fakeserver.Fault{Fields: respField{"refresh_token": json.RawMessage(`{}`), "access_token": respString("a b")}}, 1},
		{"refresh_token empty", fakeserver.Fault{Status: 200, Body: `{"refresh_token":"","access_token":null}`}, 1},
		{"form body, refresh_token empty", fakeserver.Fault{Status: 200, Body: "refresh_token=&expires_in=1", ContentType: "application/x-www-form-urlencoded"}, 1},
		{"no refresh_token named, nothing spent: retried", fakeserver.Fault{Status: 200, Body: `{"token_type":"Bearer"}`}, 2},
		{"HTML 200 from a proxy: retried", fakeserver.Fault{Status: 200, Body: fakeserver.ProxyErrorHTML}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{}, nil)
			first := e.mustEnsure(t, Options{}, ActionBootstrapped)
			e.clock.Add(59*time.Minute + 30*time.Second)
			e.fs.Fail(tt.fault)
			r, err := e.ensure(t, Options{})
			if err != nil || r.Action == ActionRefreshed && tt.refreshs == 1 {
				t.Fatalf("Ensure: %v, action %v", err, r.Action)
			}
			e.wantCounts(t, 1, tt.refreshs)
			if tt.refreshs == 1 {
				if r.Action != ActionKept || !hasWarning(r, "not sent again") {
					t.Errorf("Action %q, warnings %q; want kept, saying why it was not retried", r.Action, r.Warnings)
				}
				if e.stored(t).AccessToken != first.Token.AccessToken {
					t.Error("the token file changed")
				}
			}
		})
	}
	// The same answers to a bootstrap grant (no refresh token sent) are retried.
	e := newEnv(t, fakeserver.Options{}, nil)
	e.fs.Fail(fakeserver.Fault{Status: 200, Body: `{"refresh_token":42}`})
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 2, 0)
}

// TestRespMarshalFileWithin: a record larger than the space reserved for it is cut
// down to the lifecycle's fields, group by group while they fit; the refresh token
// is always kept (docs/security.md, "What was reserved is enough").
func TestRespMarshalFileWithin(t *testing.T) {
	full := func() *Token {
		tok := mustParseResponse(t, fixture(t, "responses/concur_password.json"), start)
		tok.TokenURL, tok.CompanyUUID, tok.AuthStyle, tok.SeedFingerprint = "https://us.api.concursolutions.com/oauth2/v0/token", "company", "header", "0123456789abcdef"
		return tok
	}
	big := func(n int) json.RawMessage { return respString(strings.Repeat("x", n)) }
	tests := []struct {
		name        string
		edit        func(tok *Token)
		wantDropped []string
		fits        bool // the result is within the limit
	}{
		{"fits whole", func(*Token) {}, nil, true},
		{"150 KB id_token", func(tok *Token) { tok.raw["id_token"] = big(150_000) }, []string{"id_token"}, true},
		{"big unknown fields", func(tok *Token) { tok.raw["x-a"], tok.raw["x-b"] = big(40_000), big(40_000) }, []string{"id_token", "x-a", "x-b"}, true},
		{"huge scope", func(tok *Token) { tok.Scope = strings.Repeat("s", 70_000); tok.raw["scope"] = respString(tok.Scope) }, []string{"id_token", "scope"}, true},
		{"refresh token alone over the limit: kept all the same", func(tok *Token) { tok.RefreshToken = strings.Repeat("r", 70_000) },
			[]string{"access_token", "auth_style", "companyUUID", "expires_at", "expires_in", "geolocation", "id_token", "obtained_at", "scope", "seed_fingerprint", "token_type", "token_url"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := full()
			tt.edit(tok)
			data, dropped, err := tok.marshalFileWithin(reserveBytes)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dropped, tt.wantDropped) {
				t.Errorf("dropped %q, want %q", dropped, tt.wantDropped)
			}
			if tt.fits != (len(data) <= reserveBytes) {
				t.Errorf("%d bytes; within %d: %v, want %v", len(data), reserveBytes, !tt.fits, tt.fits)
			}
			back, err := ParseFile(data)
			if err != nil {
				t.Fatalf("the record saved does not read back: %v", err)
			}
			if back.RefreshToken != tok.RefreshToken || !back.RefreshExpiry.Equal(tok.RefreshExpiry) {
				t.Error("the refresh token or its expiry was lost")
			}
			if !tt.fits {
				return
			}
			for _, f := range []struct {
				name      string
				got, want any
			}{
				{"AccessToken", back.AccessToken, tok.AccessToken}, {"Expiry", back.Expiry, tok.Expiry},
				{"ObtainedAt", back.ObtainedAt, tok.ObtainedAt.Truncate(time.Millisecond)},
				{"TokenType", back.TokenType, tok.TokenType}, {"TokenURL", back.TokenURL, tok.TokenURL},
				{"Geolocation", back.Geolocation, tok.Geolocation}, {"CompanyUUID", back.CompanyUUID, tok.CompanyUUID},
				{"AuthStyle", back.AuthStyle, tok.AuthStyle}, {"SeedFingerprint", back.SeedFingerprint, tok.SeedFingerprint},
			} {
				if !reflect.DeepEqual(f.got, f.want) {
					t.Errorf("%s lost in the cut", f.name)
				}
			}
			if !slices.Contains(dropped, "scope") && back.Scope != tok.Scope {
				t.Error("Scope lost in the cut")
			}
		})
	}
}

// TestRespLargeAnswerSavedCutDown: the manager saves an answer larger than the
// reservation cut down, says what it dropped, and the saved refresh token renews.
func TestRespLargeAnswerSavedCutDown(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.clock.Add(2 * time.Hour)
	e.fs.Fail(fakeserver.Fault{Fields: respField{"id_token": respString(strings.Repeat("i", 150_000))}})
	r := e.mustEnsure(t, Options{}, ActionRefreshed)
	data := ftReadFile(t, e.paths.TokenFile)
	if len(data) > reserveBytes {
		t.Errorf("token file is %d bytes, more than the %d reserved", len(data), reserveBytes)
	}
	saved := e.stored(t)
	if saved.AccessToken != r.Token.AccessToken || !e.fs.ValidRefreshToken(saved.RefreshToken) {
		t.Error("want the answer's access token and its live refresh token saved and handed out")
	}
	if !hasWarning(r, "does not fit in the 64 KiB reserved", e.paths.TokenFile, "without id_token") {
		t.Errorf("warnings %q, want one naming the dropped id_token", r.Warnings)
	}
	e.clock.Add(2 * time.Hour)
	e.mustEnsure(t, Options{}, ActionRefreshed)
	e.wantCounts(t, 1, 2)
}

// TestRespExpiredByArrival: an access token whose lifetime ran out while the
// answer travelled (expires_in 1, a request of 2 s) is not handed out: exit 75;
// its refresh token is saved and renews the next run.
func TestRespExpiredByArrival(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.clock.Add(2 * time.Second) // the request takes 2 s, on the shared clock
		e.fs.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	e.creds.TokenURL = slow.URL + fakeserver.TokenPath
	e.fs.SetGeolocation(slow.URL) // refreshes go to the geolocation
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.clock.Add(2 * time.Hour)
	e.fs.Fail(fakeserver.Fault{Fields: respField{"expires_in": json.RawMessage(`1`)}})
	r, err := e.ensure(t, Options{})
	if KindOf(err) != KindTemporary || !strings.Contains(err.Error(), "expired before it arrived") {
		t.Fatalf("Ensure: %v (kind %v), action %v, warnings %q; want KindTemporary: expired before it arrived", err, KindOf(err), r.Action, r.Warnings)
	}
	if r != nil && r.Token != nil {
		t.Error("a token was handed out")
	}
	if !e.fs.ValidRefreshToken(e.stored(t).RefreshToken) {
		t.Fatal("the rotated refresh token was not saved")
	}
	e.mustEnsure(t, Options{}, ActionRefreshed)
	e.wantCounts(t, 1, 2)
}

// TestRespStoredBadAccessTokenRenewed: a token file whose access token is not
// usable (written before that check, or by hand) is renewed, not handed out or
// refused until it expires.
func TestRespStoredBadAccessTokenRenewed(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	first := e.mustEnsure(t, Options{}, ActionBootstrapped)
	bad := clone(t, first.Token)
	bad.AccessToken = "at-bad\nline"
	e.writeToken(t, bad)
	e.mustEnsure(t, Options{}, ActionRefreshed)
	e.wantCounts(t, 1, 1)
}

// TestRespJWTExpiryCapped: a JWT exp far in the future is capped like expires_in.
func TestRespJWTExpiryCapped(t *testing.T) {
	tok, err := ParseResponse([]byte(`{"access_token":"`+respJWT(time.Date(5000, 1, 1, 0, 0, 0, 0, time.UTC))+`"}`), "", start)
	if err != nil {
		t.Fatal(err)
	}
	if want := start.Add(maxLifetime); !tok.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v", tok.Expiry, want)
	}
}
