package refresh

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// start is the request start of every fixture (testdata/responses/README.md).
var start = time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)

// concurRefreshExpiry is 1810940400, the fixtures' absolute refresh_expires_in.
var concurRefreshExpiry = time.Date(2027, 5, 21, 23, 0, 0, 0, time.UTC)

const testdata = "../testdata"

func fixture(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseResponse(t *testing.T) {
	const formType = "application/x-www-form-urlencoded"
	tests := []struct {
		name        string
		fixture     string // under testdata/responses; or body
		body        string
		contentType string
		start       time.Time // zero: start

		wantAccess, wantRefresh, wantType, wantScope, wantGeo string
		wantExpiry, wantRefreshExpiry                         time.Time
	}{
		{
			name: "concur string expires_in and epoch refresh_expires_in", fixture: "concur_password.json", contentType: "application/json",
			wantAccess: "fake-access-concur-password-0001", wantRefresh: "fake-refresh-concur-0001-e013335d-b4ce-4c43-a7e4-b67abc1adcb0",
			wantType: "Bearer", wantScope: "app-help user-read travel-read expense.report.read", wantGeo: "https://us.api.concursolutions.com",
			wantExpiry: start.Add(time.Hour), wantRefreshExpiry: concurRefreshExpiry,
		},
		{
			name: "concur number expires_in", fixture: "concur_expires_in_number.json", contentType: "application/json;charset=UTF-8",
			wantAccess: "fake-access-concur-number-0002", wantRefresh: "fake-refresh-concur-0002", wantType: "Bearer",
			wantScope: "app-help user-read travel-read expense.report.read", wantGeo: "https://us.api.concursolutions.com",
			wantExpiry: start.Add(time.Hour), wantRefreshExpiry: concurRefreshExpiry,
		},
		{
			name: "float expires_in", fixture: "expires_in_float.json",
			wantAccess: "fake-access-float-0001", wantRefresh: "fake-refresh-float-0001", wantType: "Bearer",
			wantExpiry: start.Add(3599700 * time.Millisecond),
		},
		{
			name: "no expires_in, JWT access token: exp claim", fixture: "kore_client_credentials_jwt_no_expires_in.json",
			start:    time.Unix(1795300000, 0).Add(-time.Hour).UTC(), // the fixture's exp is before start
			wantType: "Bearer", wantScope: "fake.read fake.write",
			wantExpiry: time.Unix(1795300000, 0).UTC(),
		},
		{
			name: "no expires_in, opaque access token: unknown expiry", body: `{"access_token":"fake-opaque","token_type":"Bearer"}`,
			wantAccess: "fake-opaque", wantType: "Bearer",
		},
		{
			name: "no expires_in, three dots but no JWT", body: `{"access_token":"a.b.c"}`,
			wantAccess: "a.b.c",
		},
		{
			name: "keycloak relative refresh_expires_in", fixture: "keycloak_refresh.json",
			wantAccess: "fake-access-keycloak-0001", wantRefresh: "fake-refresh-keycloak-0001", wantType: "Bearer",
			wantScope: "openid email profile", wantExpiry: start.Add(300 * time.Second), wantRefreshExpiry: start.Add(1800 * time.Second),
		},
		{
			name: "keycloak offline refresh_expires_in 0: no expiry advertised", fixture: "keycloak_offline.json",
			wantAccess: "fake-access-keycloak-offline-0002", wantRefresh: "fake-refresh-keycloak-offline-0002", wantType: "Bearer",
			wantScope: "openid offline_access email profile", wantExpiry: start.Add(300 * time.Second),
		},
		{
			name: "client_credentials without refresh token", fixture: "keycloak_client_credentials.json",
			wantAccess: "fake-access-keycloak-cc-0003", wantType: "Bearer", wantScope: "email profile",
			wantExpiry: start.Add(300 * time.Second),
		},
		{
			name: "bakrypt: no refresh expiry at all", fixture: "bakrypt_refresh.json",
			wantAccess: "fake-access-bakrypt-0001", wantRefresh: "fake-refresh-bakrypt-0002", wantType: "Bearer",
			wantScope: "read write", wantExpiry: start.Add(10 * time.Hour),
		},
		{
			name: "form-encoded github body", fixture: "github_form_encoded.txt", contentType: formType,
			wantAccess: "fake-access-github-0001", wantRefresh: "fake-refresh-github-0001", wantType: "bearer",
			wantExpiry: start.Add(8 * time.Hour),
		},
		{
			name: "form-encoded github body without content type", fixture: "github_form_encoded.txt",
			wantAccess: "fake-access-github-0001", wantRefresh: "fake-refresh-github-0001", wantType: "bearer",
			wantExpiry: start.Add(8 * time.Hour),
		},
		{
			name: "expiry counts from start, not time.Now", body: `{"access_token":"x","expires_in":60}`,
			start: time.Date(2001, 9, 9, 1, 46, 40, 0, time.UTC), wantAccess: "x",
			wantExpiry: time.Date(2001, 9, 9, 1, 47, 40, 0, time.UTC),
		},
		{
			name: "expires_in 0: not advertised, unknown", body: `{"access_token":"x","expires_in":0}`,
			wantAccess: "x",
		},
		{
			name: "null expires_in: unknown", body: `{"access_token":"x","expires_in":null}`,
			wantAccess: "x",
		},
		{
			name: "numeric string with spaces", body: `{"access_token":"x","expires_in":" 120 "}`,
			wantAccess: "x", wantExpiry: start.Add(2 * time.Minute),
		},
		{
			name: "epoch refresh_expires_in as a string", body: `{"access_token":"x","refresh_token":"r","refresh_expires_in":"1810940400"}`,
			wantAccess: "x", wantRefresh: "r", wantRefreshExpiry: concurRefreshExpiry,
		},
		{
			name: "refresh_expires_in just below the epoch threshold is relative", body: `{"access_token":"x","refresh_token":"r","refresh_expires_in":999999999}`,
			wantAccess: "x", wantRefresh: "r", wantRefreshExpiry: start.Add(999999999 * time.Second),
		},
		{
			name: "refresh_expires_in at the epoch threshold is absolute", body: `{"access_token":"x","refresh_token":"r","refresh_expires_in":1000000000}`,
			wantAccess: "x", wantRefresh: "r", wantRefreshExpiry: time.Unix(1000000000, 0).UTC(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.fixture != "" {
				body = fixture(t, filepath.Join("responses", tt.fixture))
			}
			st := tt.start
			if st.IsZero() {
				st = start
			}
			tok, err := ParseResponse(body, tt.contentType, st)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if tt.wantAccess != "" && tok.AccessToken != tt.wantAccess {
				t.Errorf("AccessToken = %q, want %q", tok.AccessToken, tt.wantAccess)
			}
			for _, f := range []struct{ name, got, want string }{
				{"RefreshToken", tok.RefreshToken, tt.wantRefresh},
				{"TokenType", tok.TokenType, tt.wantType},
				{"Scope", tok.Scope, tt.wantScope},
				{"Geolocation", tok.Geolocation, tt.wantGeo},
			} {
				if f.got != f.want {
					t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
				}
			}
			if !tok.ObtainedAt.Equal(st) {
				t.Errorf("ObtainedAt = %v, want %v", tok.ObtainedAt, st)
			}
			if !tok.Expiry.Equal(tt.wantExpiry) {
				t.Errorf("Expiry = %v, want %v", tok.Expiry, tt.wantExpiry)
			}
			if !tok.RefreshExpiry.Equal(tt.wantRefreshExpiry) {
				t.Errorf("RefreshExpiry = %v, want %v", tok.RefreshExpiry, tt.wantRefreshExpiry)
			}
			if tt.wantExpiry.IsZero() && tok.Valid(st, 0) {
				t.Error("Valid with an unknown expiry, want false")
			}
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	tests := []struct {
		name, fixture, body, contentType string
	}{
		{name: "HTML proxy page", fixture: "html_proxy_error.html", contentType: "text/html"},
		{name: "HTML proxy page without content type", fixture: "html_proxy_error.html"},
		{name: "JSON without access_token", body: `{"token_type":"Bearer","expires_in":3600}`},
		{name: "empty access_token", body: `{"access_token":"","expires_in":3600}`},
		{name: "access_token a number", body: `{"access_token":12345,"expires_in":3600}`},
		{name: "access_token a number, refresh_token an object", body: `{"access_token":12345,"refresh_token":{"a":1}}`},
		{name: "access_token with a line break, no refresh_token", body: `{"access_token":"fake-secret-at\nx","expires_in":3600}`},
		{name: "access_token expired on arrival, no refresh_token", body: `{"access_token":"fake-secret-at","expires_in":-1}`},
		{name: "empty refresh_token and no access_token", body: `{"refresh_token":"","expires_in":3600}`},
		{name: "JSON array", body: `[{"access_token":"fake-secret-at"}]`},
		{name: "JSON null", body: `null`},
		{name: "empty body", body: ``},
		{name: "RFC 6749 error body", fixture: "bakrypt_error_invalid_grant.json"},
		{name: "KORE error body", fixture: "kore_error_code_message.json"},
		{name: "form body without access_token", body: `error=bad_verification_code`, contentType: "application/x-www-form-urlencoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.fixture != "" {
				body = fixture(t, filepath.Join("responses", tt.fixture))
			}
			tok, err := ParseResponse(body, tt.contentType, start)
			if err == nil {
				t.Fatalf("ParseResponse succeeded (access token set: %v), want an error", tok.AccessToken != "")
			}
			if !strings.HasPrefix(err.Error(), "refresh: ") && !strings.HasPrefix(err.Error(), "field ") {
				t.Errorf("error %q: want a refresh: prefix or a field name", err)
			}
			for _, secret := range []string{"fake-secret-at", "fake-secret-rt"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error contains a token value")
				}
			}
		})
	}
}

func TestParseFile(t *testing.T) {
	now := start.Add(24 * time.Hour)
	t.Run("tutorial_node.json", func(t *testing.T) {
		tok, err := ParseFile(fixture(t, "tokenfiles/tutorial_node.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tok.AccessToken, "fake-access-concur-password-0001"; got != want {
			t.Errorf("AccessToken = %q, want %q", got, want)
		}
		if got, want := tok.CompanyUUID, "fake-company-uuid-0000-0000-000000000000"; got != want {
			t.Errorf("CompanyUUID = %q, want %q", got, want)
		}
		if !tok.Expiry.IsZero() || !tok.ObtainedAt.IsZero() {
			t.Errorf("Expiry, ObtainedAt = %v, %v; want zero (unknown)", tok.Expiry, tok.ObtainedAt)
		}
		if tok.Valid(now, 0) {
			t.Error("Valid = true, want false: the access token's expiry is unknown")
		}
		if !tok.RefreshExpiry.Equal(concurRefreshExpiry) {
			t.Errorf("RefreshExpiry = %v, want %v (epoch refresh_expires_in)", tok.RefreshExpiry, concurRefreshExpiry)
		}
		if !tok.RefreshUsable(now) {
			t.Error("RefreshUsable = false, want true")
		}
	})
	t.Run("future_version.json", func(t *testing.T) {
		tok, err := ParseFile(fixture(t, "tokenfiles/future_version.json"))
		if err != nil {
			t.Fatal(err)
		}
		wantTimes := []struct {
			name      string
			got, want time.Time
		}{
			{"ObtainedAt", tok.ObtainedAt, start},
			{"Expiry", tok.Expiry, start.Add(time.Hour)},
			{"RefreshExpiry", tok.RefreshExpiry, concurRefreshExpiry},
		}
		for _, w := range wantTimes {
			if !w.got.Equal(w.want) {
				t.Errorf("%s = %v, want %v", w.name, w.got, w.want)
			}
		}
		if got, want := tok.TokenURL, "https://us.api.concursolutions.com/oauth2/v0/token"; got != want {
			t.Errorf("TokenURL = %q, want %q", got, want)
		}
		if raw, ok := tok.Raw("x_future"); !ok || string(raw) == "" {
			t.Error("x_future not kept")
		}
	})
}

// TestParseFileKeepsUnknownFields: a rewrite of a file from a later version keeps
// every field it does not know, with the same JSON value.
func TestParseFileKeepsUnknownFields(t *testing.T) {
	in := fixture(t, "tokenfiles/future_version.json")
	tok, err := ParseFile(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tok.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	var before, after map[string]any
	if err := json.Unmarshal(in, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatalf("MarshalFile output is not JSON: %v", err)
	}
	for k, v := range before {
		if k == keyObtainedAt {
			continue // rewritten to the millisecond
		}
		if !reflect.DeepEqual(after[k], v) {
			t.Errorf("field %q = %v after rewrite, want %v", k, after[k], v)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d fields after rewrite, want %d", len(after), len(before))
	}
	if !strings.HasSuffix(string(out), "}\n") {
		t.Error("MarshalFile output does not end with a newline")
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name     string
		fixture  string
		data     string
		wantText []string // substrings of the error
	}{
		{name: "truncated", fixture: "truncated.json", wantText: []string{"10:", "unexpected end of JSON input"}},
		{name: "empty", fixture: "empty.json", wantText: []string{"empty"}},
		{name: "whitespace only", data: " \n\t\n", wantText: []string{"empty"}},
		{name: "not JSON", fixture: "not_json.txt", wantText: []string{"1:", "invalid character"}},
		{name: "syntax error on line 3", data: "{\n  \"access_token\": \"x\",\n  oops\n}", wantText: []string{"3:", "invalid character 'o'"}},
		{name: "array", data: `["fake-secret-at"]`, wantText: []string{"not a JSON object"}},
		{name: "null", data: `null`, wantText: []string{"not a JSON object"}},
		{name: "access_token a number", data: `{"access_token":5}`, wantText: []string{`"access_token"`, "string"}},
		{name: "expires_at not a time", data: `{"access_token":"fake-secret-at","expires_at":"tomorrow"}`, wantText: []string{`"expires_at"`, "RFC 3339"}},
		{name: "obtained_at a number", data: `{"access_token":"fake-secret-at","obtained_at":1795302000}`, wantText: []string{`"obtained_at"`}},
		{name: "refresh_expires_in not a number", data: `{"access_token":"fake-secret-at","refresh_expires_in":"never"}`, wantText: []string{`"refresh_expires_in"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			if tt.fixture != "" {
				data = fixture(t, filepath.Join("tokenfiles", tt.fixture))
			}
			_, err := ParseFile(data)
			if err == nil {
				t.Fatal("ParseFile succeeded, want an error")
			}
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			for _, secret := range []string{"fake-secret-at", "fake-refresh-not-json", "fake-refresh-future-0001"} {
				if strings.Contains(err.Error(), secret) {
					t.Error("error contains a token value")
				}
			}
		})
	}
}

// TestParseFileErrorColumn: line:column names the offending character, 1-based, as
// editors and the credentials package do ("1:2" for the 'h' of "this").
// encoding/json's Offset counts the bytes read, the bad one included.
func TestParseFileErrorColumn(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"not_json.txt", string(fixture(t, "tokenfiles/not_json.txt")), "1:2: invalid character 'h'"},
		{"first character", "x", "1:1: invalid character 'x'"},
		{"line 3", "{\n  \"access_token\": \"x\",\n  oops\n}", "3:3: invalid character 'o'"},
		{"after a multi-byte character", "{\"é\": x}", "1:7: invalid character 'x'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tt.data))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("ParseFile error = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestValid(t *testing.T) {
	exp := start.Add(time.Hour)
	hour := &Token{AccessToken: "a", ObtainedAt: start, Expiry: exp}
	short := &Token{AccessToken: "a", ObtainedAt: start, Expiry: start.Add(30 * time.Second)}
	noStart := &Token{AccessToken: "a", Expiry: exp} // a tutorial file given an expiry by hand
	tests := []struct {
		name   string
		tok    *Token
		now    time.Time
		margin time.Duration
		want   bool
	}{
		{"nil token", nil, start, 0, false},
		{"no access token", &Token{ObtainedAt: start, Expiry: exp}, start, 0, false},
		{"zero expiry", &Token{AccessToken: "a", ObtainedAt: start}, start, 0, false},
		{"exactly at expiry", hour, exp, 0, false},
		{"after expiry", hour, exp.Add(time.Second), 0, false},
		{"1ns before expiry, margin 0", hour, exp.Add(-1), 0, true},
		{"now+margin == expiry", hour, exp.Add(-time.Minute), time.Minute, false},
		{"now+margin 1ns before expiry", hour, exp.Add(-time.Minute - 1), time.Minute, true},
		{"margin of half the lifetime exactly", hour, start, 30 * time.Minute, true},
		{"30s token, 60s margin capped to 15s: at 15s before expiry", short, short.Expiry.Add(-15 * time.Second), time.Minute, false},
		{"30s token, 60s margin capped to 15s: 1ns earlier", short, short.Expiry.Add(-15*time.Second - 1), time.Minute, true},
		{"30s token, just issued, 60s margin", short, start, time.Minute, true},
		{"no obtained_at: margin not capped", noStart, exp.Add(-time.Minute), time.Minute, false},
		{"no obtained_at: 1ns earlier", noStart, exp.Add(-time.Minute - 1), time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.Valid(tt.now, tt.margin); got != tt.want {
				t.Errorf("Valid(%v, %v) = %v, want %v", tt.now, tt.margin, got, tt.want)
			}
		})
	}
}

// TestValidExpiryBeforeObtainedAt: a token whose expiry precedes its obtained_at (a
// JWT exp already past at issue, a hand-edited file, or a clock set back since the
// file was written) must not be valid after its expiry. The half-lifetime cap turns
// negative there and pushes validity past the expiry.
func TestValidExpiryBeforeObtainedAt(t *testing.T) {
	tok := &Token{AccessToken: "a", ObtainedAt: start.Add(2 * time.Hour), Expiry: start}
	now := start.Add(30 * time.Minute) // after the expiry, before obtained_at
	if tok.Valid(now, DefaultMargin) {
		t.Errorf("Valid(%v) = true for a token that expired at %v, want false", now, tok.Expiry)
	}
}

func TestRefreshUsable(t *testing.T) {
	rexp := start.Add(30 * time.Minute)
	tests := []struct {
		name string
		tok  *Token
		now  time.Time
		want bool
	}{
		{"nil token", nil, start, false},
		{"empty refresh token", &Token{AccessToken: "a", RefreshExpiry: rexp}, start, false},
		{"zero expiry: none advertised", &Token{RefreshToken: "r"}, start.Add(100 * 365 * 24 * time.Hour), true},
		{"exactly at RefreshExpiry", &Token{RefreshToken: "r", RefreshExpiry: rexp}, rexp, false},
		{"1ns before RefreshExpiry", &Token{RefreshToken: "r", RefreshExpiry: rexp}, rexp.Add(-1), true},
		{"after RefreshExpiry", &Token{RefreshToken: "r", RefreshExpiry: rexp}, rexp.Add(time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.RefreshUsable(tt.now); got != tt.want {
				t.Errorf("RefreshUsable(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func mustParseResponse(t *testing.T, body []byte, at time.Time) *Token {
	t.Helper()
	tok, err := ParseResponse(body, "application/json", at)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// roundTrip writes tok as a file and reads it back, as a save and a later run do.
func roundTrip(t *testing.T, tok *Token) (*Token, []byte) {
	t.Helper()
	data, err := tok.MarshalFile()
	if err != nil {
		t.Fatalf("MarshalFile: %v", err)
	}
	back, err := ParseFile(data)
	if err != nil {
		t.Fatalf("ParseFile(MarshalFile()): %v", err)
	}
	return back, data
}

func TestMergeRotationAdopted(t *testing.T) {
	old := mustParseResponse(t, fixture(t, "responses/concur_password.json"), start)
	nt := mustParseResponse(t, fixture(t, "responses/concur_refresh_rotated.json"), start.Add(time.Hour))
	nt.merge(old)
	if got, want := nt.RefreshToken, "fake-refresh-concur-0003-rotated"; got != want {
		t.Errorf("RefreshToken = %q, want %q (rotation)", got, want)
	}
	if want := time.Unix(1810944000, 0).UTC(); !nt.RefreshExpiry.Equal(want) {
		t.Errorf("RefreshExpiry = %v, want %v (the new token's)", nt.RefreshExpiry, want)
	}
	back, _ := roundTrip(t, nt)
	if back.RefreshToken != nt.RefreshToken || !back.RefreshExpiry.Equal(nt.RefreshExpiry) {
		t.Errorf("after a rewrite: refresh token changed %v, expiry %v; want unchanged, %v",
			back.RefreshToken != nt.RefreshToken, back.RefreshExpiry, nt.RefreshExpiry)
	}
}

// TestMergeKeepsRefreshTokenAndExpiry: RFC 6749 §6, a refresh answer without a
// refresh_token keeps the stored one, and its expiry, also across a rewrite.
func TestMergeKeepsRefreshTokenAndExpiry(t *testing.T) {
	tests := []struct {
		name       string
		oldFixture string
		wantExpiry time.Time
	}{
		{"concur epoch expiry", "concur_password.json", concurRefreshExpiry},
		{"keycloak relative expiry", "keycloak_refresh.json", start.Add(1800 * time.Second)},
		{"keycloak offline: none advertised", "keycloak_offline.json", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := mustParseResponse(t, fixture(t, "responses/"+tt.oldFixture), start)
			later := start.Add(10 * time.Minute)
			nt := mustParseResponse(t, []byte(`{"access_token":"fake-access-new","token_type":"Bearer","expires_in":300}`), later)
			nt.merge(old)
			if nt.RefreshToken != old.RefreshToken {
				t.Errorf("RefreshToken = %q, want the old %q", nt.RefreshToken, old.RefreshToken)
			}
			if !nt.RefreshExpiry.Equal(tt.wantExpiry) {
				t.Errorf("RefreshExpiry = %v, want %v", nt.RefreshExpiry, tt.wantExpiry)
			}
			if !nt.Expiry.Equal(later.Add(300 * time.Second)) {
				t.Errorf("Expiry = %v, want %v (the new access token's)", nt.Expiry, later.Add(300*time.Second))
			}
			back, _ := roundTrip(t, nt)
			if back.RefreshToken != old.RefreshToken {
				t.Error("refresh token lost in the rewrite")
			}
			if !back.RefreshExpiry.Equal(tt.wantExpiry) {
				t.Errorf("after a rewrite: RefreshExpiry = %v, want %v", back.RefreshExpiry, tt.wantExpiry)
			}
		})
	}
}

func TestMergeKeepsUnknownFields(t *testing.T) {
	old, err := ParseFile(fixture(t, "tokenfiles/future_version.json"))
	if err != nil {
		t.Fatal(err)
	}
	nt := mustParseResponse(t, fixture(t, "responses/concur_refresh_rotated.json"), start.Add(time.Hour))
	nt.merge(old)
	_, data := roundTrip(t, nt)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m["x_future"], map[string]any{"a": 1.0}) {
		t.Errorf("x_future = %v, want map[a:1]", m["x_future"])
	}
	if !reflect.DeepEqual(m["x_future_list"], []any{"kept", 2.0, true, nil}) {
		t.Errorf("x_future_list = %v, want [kept 2 true <nil>]", m["x_future_list"])
	}
	if m["companyUUID"] != "fake-company-uuid-0000-0000-000000000000" {
		t.Errorf("companyUUID = %v, want the old one", m["companyUUID"])
	}
}

// TestMergeDropsOldExpiresIn: the old access token's lifetime must not describe the
// new one (here a KORE-style answer whose expiry comes from the JWT).
func TestMergeDropsOldExpiresIn(t *testing.T) {
	old := mustParseResponse(t, fixture(t, "responses/concur_password.json"), start)
	nt := mustParseResponse(t, fixture(t, "responses/kore_client_credentials_jwt_no_expires_in.json"), time.Unix(1795300000, 0).Add(-time.Hour))
	nt.merge(old)
	if _, ok := nt.Raw("expires_in"); ok {
		t.Error("merged token kept the old expires_in")
	}
	back, data := roundTrip(t, nt)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if _, ok := m["expires_in"]; ok {
		t.Error("file has the old expires_in")
	}
	if want := time.Unix(1795300000, 0).UTC(); !back.Expiry.Equal(want) {
		t.Errorf("Expiry = %v, want %v (JWT exp)", back.Expiry, want)
	}
}

func TestMergeNilOld(t *testing.T) {
	nt := mustParseResponse(t, fixture(t, "responses/bakrypt_refresh.json"), start)
	nt.merge(nil)
	if nt.RefreshToken != "fake-refresh-bakrypt-0002" {
		t.Errorf("RefreshToken = %q after merge(nil)", nt.RefreshToken)
	}
}

// TestMarshalFileRoundTripTimes: times come back equal, expiries rounded down to the
// second (the safe side), obtained_at to the millisecond.
func TestMarshalFileRoundTripTimes(t *testing.T) {
	at := start.Add(123456789 * time.Nanosecond)
	tok := mustParseResponse(t, fixture(t, "responses/expires_in_float.json"), at)
	tok.RefreshExpiry = at.Add(1800*time.Second + 999*time.Millisecond)
	back, _ := roundTrip(t, tok)
	tests := []struct {
		name      string
		got, want time.Time
	}{
		{"ObtainedAt", back.ObtainedAt, at.Truncate(time.Millisecond)},
		{"Expiry", back.Expiry, at.Add(3599700 * time.Millisecond).Truncate(time.Second)},
		{"RefreshExpiry", back.RefreshExpiry, at.Add(1800*time.Second + 999*time.Millisecond).Truncate(time.Second)},
	}
	for _, tt := range tests {
		if !tt.got.Equal(tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
		if tt.got.Location() != time.UTC {
			t.Errorf("%s in %v, want UTC", tt.name, tt.got.Location())
		}
	}
	if back.Expiry.After(tok.Expiry) || back.RefreshExpiry.After(tok.RefreshExpiry) {
		t.Error("a rewrite moved an expiry later, want rounding down")
	}
}

// TestMarshalFileRoundTripFixtures: every success fixture survives parse → write → read.
func TestMarshalFileRoundTripFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(testdata, "responses", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			ct := "application/json"
			if strings.HasSuffix(name, ".txt") {
				ct = "application/x-www-form-urlencoded"
			}
			tok, err := ParseResponse(fixture(t, filepath.Join("responses", name)), ct, start)
			if err != nil {
				t.Skip("not a success body")
			}
			tok.TokenURL, tok.CompanyUUID, tok.AuthStyle = "https://example.test/token", "uuid", "header"
			back, _ := roundTrip(t, tok)
			assertSameToken(t, back, tok)
		})
	}
}

func assertSameToken(t *testing.T, got, want *Token) {
	t.Helper()
	strs := []struct{ name, got, want string }{
		{"AccessToken", got.AccessToken, want.AccessToken},
		{"RefreshToken", got.RefreshToken, want.RefreshToken},
		{"TokenType", got.TokenType, want.TokenType},
		{"Scope", got.Scope, want.Scope},
		{"Geolocation", got.Geolocation, want.Geolocation},
		{"CompanyUUID", got.CompanyUUID, want.CompanyUUID},
		{"TokenURL", got.TokenURL, want.TokenURL},
		{"AuthStyle", got.AuthStyle, want.AuthStyle},
		{"SeedFingerprint", got.SeedFingerprint, want.SeedFingerprint},
	}
	for _, s := range strs {
		if s.got != s.want {
			t.Errorf("%s differs after a round trip", s.name) // values may be secrets
		}
	}
	times := []struct {
		name      string
		got, want time.Time
		unit      time.Duration
	}{
		{"ObtainedAt", got.ObtainedAt, want.ObtainedAt, time.Millisecond},
		{"Expiry", got.Expiry, want.Expiry, time.Second},
		{"RefreshExpiry", got.RefreshExpiry, want.RefreshExpiry, time.Second},
	}
	for _, tt := range times {
		if w := tt.want.Truncate(tt.unit); !tt.got.Equal(w) {
			t.Errorf("%s = %v after a round trip, want %v", tt.name, tt.got, w)
		}
	}
}

// TestParseFileRoundTripFarFuture: a file that parses must still parse once
// rewritten. A relative refresh_expires_in placed after an obtained_at late in
// year 9999 gives a refresh_expires_at in year 10000, which MarshalFile writes and
// RFC 3339 cannot read back.
func TestParseFileRoundTripFarFuture(t *testing.T) {
	data := []byte(`{"access_token":"a","refresh_token":"r","refresh_expires_in":3600,"obtained_at":"9999-12-31T23:30:00Z"}`)
	tok, err := ParseFile(data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tok.MarshalFile()
	if err != nil {
		return // refusing to write is acceptable
	}
	if _, err := ParseFile(out); err != nil {
		t.Errorf("ParseFile(MarshalFile()) = %v, want the file to parse again", err)
	}
}

func TestFingerprintHidesSecret(t *testing.T) {
	const secret = "fake-refresh-seed-0001"
	fp := fingerprint(secret)
	if fp == fingerprint("fake-refresh-seed-0002") {
		t.Error("two seeds share a fingerprint")
	}
	if strings.Contains(fp, secret) || len(fp) != 16 {
		t.Errorf("fingerprint has %d characters, want 16 hex and no secret", len(fp))
	}
}

func TestUntil(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{42 * time.Minute, "in 42m"},
		{-3*24*time.Hour - 4*time.Hour, "3d4h ago"},
		{90 * time.Minute, "in 1h30m"},
		{5 * time.Second, "in 5s"},
		{0, "in 0s"},
		// Rounded to the nearest unit shown, never twice.
		{time.Minute + 59*time.Second, "in 2m"},
		{time.Minute + 29*time.Second, "in 1m"},
		{time.Minute + 29*time.Second + 500*time.Millisecond, "in 1m"},
		{time.Minute + 30*time.Second, "in 2m"},
		{59*time.Second + 499*time.Millisecond, "in 59s"},
		{59*time.Second + 500*time.Millisecond, "in 1m"},
		{499 * time.Millisecond, "in 0s"},
		{-500 * time.Millisecond, "1s ago"},
		{59*time.Minute + 29*time.Second, "in 59m"},
		{59*time.Minute + 30*time.Second, "in 1h0m"},
		{time.Hour + 59*time.Minute + 29*time.Second, "in 1h59m"},
		{time.Hour + 59*time.Minute + 30*time.Second, "in 2h0m"},
		{47*time.Hour + 59*time.Minute + 29*time.Second, "in 47h59m"},
		{47*time.Hour + 59*time.Minute + 30*time.Second, "in 2d0h"},
		{3*24*time.Hour + 29*time.Minute, "in 3d0h"},
		{3*24*time.Hour + 30*time.Minute, "in 3d1h"},
		{-(time.Hour + 59*time.Minute + 30*time.Second), "2h0m ago"},
		{-(time.Minute + 59*time.Second), "2m ago"},
		{-(59*time.Second + 500*time.Millisecond), "1m ago"},
	}
	for _, tt := range tests {
		if got := Until(start, start.Add(tt.d)); got != tt.want {
			t.Errorf("Until(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestMarshalFileWritesFields: fields set on a Token, not only those in the raw
// response, are written (Manager.exchange sets Geolocation after a code-16 retry).
func TestMarshalFileWritesFields(t *testing.T) {
	tok := &Token{AccessToken: "a", TokenType: "Bearer", Scope: "s", Geolocation: "https://emea.api.concursolutions.com",
		ObtainedAt: start, Expiry: start.Add(time.Hour)}
	back, _ := roundTrip(t, tok)
	assertSameToken(t, back, tok)
}

// TestValidClockSetBack: a token file written before the clock was set back has an
// obtained_at in the future; beyond a small skew it is not valid, and within it its
// validity never exceeds its own lifetime (docs/security.md, "How a token is judged").
func TestValidClockSetBack(t *testing.T) {
	hour := &Token{AccessToken: "a", ObtainedAt: start, Expiry: start.Add(time.Hour)}
	tests := []struct {
		name   string
		now    time.Time
		margin time.Duration
		want   bool
	}{
		{"clock set back a year", start.AddDate(-1, 0, 0), 0, false},
		{"clock set back a day", start.Add(-24 * time.Hour), 0, false},
		{"obtained 2m1s in the future", start.Add(-2*time.Minute - time.Second), 0, false},
		{"obtained 2m in the future: within the skew", start.Add(-2 * time.Minute), 0, true},
		{"within the skew, 40m margin capped to half the lifetime", start.Add(-time.Minute), 40 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hour.Valid(tt.now, tt.margin); got != tt.want {
				t.Errorf("Valid(%v, %v) = %v, want %v", tt.now, tt.margin, got, tt.want)
			}
		})
	}
	// An expiry at or before obtained_at is never valid, whatever the clock says.
	for _, now := range []time.Time{start.Add(-time.Hour), start.Add(-time.Second)} {
		tok := &Token{AccessToken: "a", ObtainedAt: start, Expiry: start}
		if tok.Valid(now, 0) {
			t.Errorf("a token with no lifetime is valid at %v", now)
		}
	}
}

// TestParseResponseJSONLabelledForm: a JSON answer labelled as a form, or with a
// UTF-8 BOM, is read as JSON: its refresh token must not be lost to the label.
func TestParseResponseJSONLabelledForm(t *testing.T) {
	for _, tt := range []struct{ body, contentType string }{
		{`{"access_token":"at","refresh_token":"rt"}`, "application/x-www-form-urlencoded"},
		{"\ufeff" + `{"access_token":"at","refresh_token":"rt"}`, "application/json"},
		{"refresh_token=rt&access_token=at", ""},
	} {
		tok, err := ParseResponse([]byte(tt.body), tt.contentType, start)
		if err != nil || tok.RefreshToken != "rt" || tok.AccessToken != "at" {
			t.Errorf("ParseResponse(%q, %q): err %v; want the tokens read", tt.body, tt.contentType, err)
		}
	}
}

// TestWithoutTokens: what logout sets aside keeps no token under any name or
// nesting, and keeps what says what the grant was.
func TestWithoutTokens(t *testing.T) {
	answer := `{"access_token":"tok-1","refresh_token":"tok-2","id_token":"tok-3","token_type":"Bearer",
		"expires_in":3600,"scope":"openid","tokens":{"access":"tok-4"},"data":{"access_token":"tok-5"},
		"mac_key":"tok-6","oauth_token_secret":"tok-7","jwt":"tok-8","session_key":"tok-9","code":"tok-10",
		"Refresh-Token ":"tok-11","geolocation":"https://us.api.concursolutions.com"}`
	tok, err := ParseResponse([]byte(answer), "application/json", time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	tok.TokenURL = "https://id.example.com/token"
	data, err := tok.withoutTokens().MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "tok-") {
		t.Errorf("the set-aside record keeps a token:\n%s", data)
	}
	for _, k := range []string{`"token_url"`, `"scope"`, `"expires_at"`, `"geolocation"`} {
		if !strings.Contains(string(data), k) {
			t.Errorf("the set-aside record lost %s:\n%s", k, data)
		}
	}
}
