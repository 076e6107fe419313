package credentials

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testPath = "/home/u/.config/tokenkeeper/default/credentials.json"

func TestParseSyntaxErrors(t *testing.T) {
	skipOnWindows(t, "Unix paths")
	tests := []struct {
		name      string
		data      string
		line, col int
		msg       string // prefix of SyntaxError.Msg
		hint      string // substring of Hint, "" for none
	}{
		{"trailing comma", "{\n  \"appID\": \"a\",\n  \"scope\": \"\",\n}", 4, 1,
			"invalid character '}' looking for beginning of object key string", "trailing comma"},
		{"trailing comma indented", "{\n  \"appID\": \"a\",\n             }", 3, 14,
			"invalid character '}' looking for beginning of object key string", "trailing comma"},
		{"single quotes", "{\n  'appID': 'a'\n}", 2, 3, `invalid character '\''`, "double quotes"},
		{"missing comma", "{\n  \"appID\": \"a\"\n  \"scope\": \"\"\n}", 3, 3,
			"invalid character '\"' after object key:value pair", "comma is missing"},
		{"truncated", `{"appID": "0a1b`, 1, 15, "unexpected end of JSON input", ""},
		{"key=value file", "appID=x\nclientSecret=y\n", 1, 1, "invalid character 'a' looking for beginning of value", ""},
		{"trailing garbage", "{}\n}", 2, 1, "invalid character '}' after top-level value", ""},
		{"column counts characters", "{\"scope\": \"é\" x}", 1, 15, "invalid character 'x' after object key:value pair", ""},
		{"array", `[{"appID": "a"}]`, 1, 1, "want a JSON object {…}, got array", ""},
		{"string", "\n  \"appID\"", 2, 3, "want a JSON object {…}, got string", ""},
		{"number", `42`, 1, 1, "want a JSON object {…}, got number", ""},
		{"null", `null`, 1, 1, "want a JSON object {…}, got null", ""},
		{"two objects", `{} {}`, 1, 4, "invalid character '{' after top-level value", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(testPath, []byte(tt.data))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error = %v (%T), want *SyntaxError", err, err)
			}
			if se.Line != tt.line || se.Col != tt.col {
				t.Errorf("position = %d:%d, want %d:%d (%v)", se.Line, se.Col, tt.line, tt.col, err)
			}
			if !strings.HasPrefix(se.Msg, tt.msg) {
				t.Errorf("Msg = %q, want prefix %q", se.Msg, tt.msg)
			}
			if (tt.hint == "") != (se.Hint == "") || !strings.Contains(se.Hint, tt.hint) {
				t.Errorf("Hint = %q, want %q", se.Hint, tt.hint)
			}
			wantPrefix := "credentials: " + testPath + ":"
			if !strings.HasPrefix(err.Error(), wantPrefix) {
				t.Errorf("Error() = %q, want prefix %q", err, wantPrefix)
			}
			if errors.Is(err, ErrEmpty) {
				t.Errorf("errors.Is(%v, ErrEmpty) = true, want false", err)
			}
		})
	}
}

// TestSyntaxErrorText pins the format the CLI shows.
func TestSyntaxErrorText(t *testing.T) {
	skipOnWindows(t, "Unix paths")
	data := "{\n  \"appID\": \"a\",\n             }"
	_, err := Parse(testPath, []byte(data))
	want := "credentials: " + testPath + ":3:14: invalid character '}' looking for beginning of object key string"
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
}

func TestParseEmpty(t *testing.T) {
	skipOnWindows(t, "Unix paths")
	for _, data := range []string{"", " ", "\n", " \t\r\n", "\uFEFF", "\uFEFF\n"} {
		_, err := Parse(testPath, []byte(data))
		if !errors.Is(err, ErrEmpty) {
			t.Errorf("Parse(%q) = %v, want ErrEmpty", data, err)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q): %T, want *SyntaxError", data, err)
		}
		if want := "credentials: " + testPath + ": file is empty"; err.Error() != want {
			t.Errorf("Error() = %q, want %q", err, want)
		}
	}
}

func TestParseWrongTypes(t *testing.T) {
	_, err := Parse(testPath, []byte(readFixture(t, "wrong-types.json")))
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Parse = %v (%T), want *InvalidError", err, err)
	}
	want := []Problem{
		{Field: "appID", Msg: "want a string, got number (put the value in double quotes)"},
		{Field: "clientSecret", Msg: "want a string, got boolean (put the value in double quotes)"},
		{Field: "companyUUID", Msg: "want a string, got array"},
		{Field: "companyRequestToken", Msg: "want a string, got object"},
	}
	if !slices.Equal(inv.Problems, want) {
		t.Errorf("Problems =\n%v\nwant\n%v", inv.Problems, want)
	}
	if errors.Is(err, ErrIncomplete) {
		t.Error("wrong types match ErrIncomplete; want not (nothing is missing)")
	}
}

// TestLoadReportsAllAtOnce: type errors, conflicts and validation problems
// come in one error, and a field of the wrong type is not also "not set".
func TestLoadReportsAllAtOnce(t *testing.T) {
	path := filepath.Join(tempDir(t), FileName)
	data := `{"tokenURL": "http://example.com/token", "appID": 7, "grantType": "password",
	  "companyUUID": "u", "username": "v", "authStyle": "basic"}`
	writeFile(t, path, data)
	_, err := Load(path)
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Load = %v, want *InvalidError", err)
	}
	// A missing field is named in the endpoint's words (not Concur's here).
	want := []string{"appID", "companyUUID", "tokenURL", "clientSecret", "password", "authStyle"}
	if got := problemFields(inv); !slices.Equal(got, want) {
		t.Errorf("problem fields = %q, want %q\n%v", got, want, err)
	}
	if !errors.Is(err, ErrIncomplete) {
		t.Error("want ErrIncomplete: clientSecret is missing")
	}
}

func TestParseSynonyms(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		want     Credentials
		conflict []string
	}{
		{"synonyms alone", `{"clientID":"app","username":"uuid","password":"crt"}`,
			Credentials{AppID: "app", CompanyUUID: "uuid", CompanyRequestToken: "crt"}, nil},
		{"same value twice", `{"appID":"app","clientID":"app"}`, Credentials{AppID: "app"}, nil},
		{"canonical empty", `{"appID":"","clientID":"app"}`, Credentials{AppID: "app"}, nil},
		{"synonym empty", `{"appID":"app","clientID":""}`, Credentials{AppID: "app"}, nil},
		{"synonym null", `{"appID":"app","clientID":null}`, Credentials{AppID: "app"}, nil},
		{"same after trimming", `{"appID":"app","clientID":" app\n"}`, Credentials{AppID: "app"}, nil},
		{"conflict", `{"appID":"app","clientID":"other","companyUUID":"u","username":"v","companyRequestToken":"a","password":"b"}`,
			Credentials{}, []string{"appID", "companyUUID", "companyRequestToken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(testPath, []byte(tt.data))
			if tt.conflict != nil {
				var inv *InvalidError
				if !errors.As(err, &inv) {
					t.Fatalf("Parse = %v, want *InvalidError", err)
				}
				if got := problemFields(inv); !slices.Equal(got, tt.conflict) {
					t.Errorf("problem fields = %q, want %q", got, tt.conflict)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AppID != tt.want.AppID || c.CompanyUUID != tt.want.CompanyUUID || c.CompanyRequestToken != tt.want.CompanyRequestToken {
				t.Errorf("got %+v, want %+v", *c, tt.want)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	tests := []struct {
		name                          string
		data                          string
		tokenURL, grantType, authStyl string
	}{
		{"absent", `{}`, DefaultTokenURL, GrantPassword, AuthParams},
		{"empty", `{"tokenURL":"","grantType":"","authStyle":""}`, DefaultTokenURL, GrantPassword, AuthParams},
		{"blank", `{"tokenURL":"  ","grantType":"\n","authStyle":"\t"}`, DefaultTokenURL, GrantPassword, AuthParams},
		{"null", `{"tokenURL":null,"grantType":null,"authStyle":null}`, DefaultTokenURL, GrantPassword, AuthParams},
		{"set", `{"tokenURL":"https://h/t","grantType":"refresh_token","authStyle":"auto"}`, "https://h/t", GrantRefreshToken, AuthAuto},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(testPath, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			wantField(t, "TokenURL", c.TokenURL, tt.tokenURL)
			wantField(t, "GrantType", c.GrantType, tt.grantType)
			wantField(t, "AuthStyle", c.AuthStyle, tt.authStyl)
			wantField(t, "CredentialType", c.CredentialType, "") // no default: sent only when set
		})
	}
}

func TestParseTrimsValues(t *testing.T) {
	data := `{"appID":"  app  ","clientSecret":"SECRET-trim\n","companyUUID":"\tuuid\r\n","scope":" a b "}`
	c, err := Parse(testPath, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	wantField(t, "AppID", c.AppID, "app")
	wantField(t, "ClientSecret", c.ClientSecret, "SECRET-trim")
	wantField(t, "CompanyUUID", c.CompanyUUID, "uuid")
	wantField(t, "Scope", c.Scope, "a b")
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"case", `{"appId":"x"}`, []string{`unknown field "appId" (did you mean "appID"?)`}},
		{"snake case", `{"client_secret":"x"}`, []string{`unknown field "client_secret" (did you mean "clientSecret"?)`}},
		{"oauth name", `{"client_id":"x"}`, []string{`unknown field "client_id" (did you mean "appID"?)`}},
		{"typo", `{"grantType":"password","grantTyp":"password"}`, []string{`unknown field "grantTyp" (did you mean "grantType"?)`}},
		{"two typos", `{"companyUUUID":"x"}`, []string{`unknown field "companyUUUID" (did you mean "companyUUID"?)`}},
		{"synonym case", `{"Password":"x"}`, []string{`unknown field "Password" (did you mean "companyRequestToken"?)`}},
		{"tokenUrl", `{"tokenURL":"https://h/t","tokenUrl":"https://h/t"}`, []string{`unknown field "tokenUrl" (did you mean "tokenURL"?)`}},
		{"credtype", `{"credtype":"authtoken"}`, []string{`unknown field "credtype" (did you mean "credentialType"?)`}},
		{"unrelated", `{"comment":"prod"}`, []string{`unknown field "comment" (ignored)`}},
		{"short unrelated", `{"id":1}`, []string{`unknown field "id" (ignored)`}},
		{"duplicate", `{"appID":"a","appID":"b","appID":"c"}`, []string{`field "appID" appears more than once; the last one is used`}},
		{"none", `{"appID":"a","clientID":"a","username":"","password":null}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(testPath, []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Warnings, tt.want) {
				t.Errorf("Warnings = %q, want %q", c.Warnings, tt.want)
			}
		})
	}
}

// TestParseShadowedDefault: a misspelt tokenURL must not silently fall back
// to the Concur endpoint and send the secrets there.
func TestParseShadowedDefault(t *testing.T) {
	tests := []struct {
		name, data string
		field      string // "" for no problem
	}{
		{"tokenURL case", `{"TokenURL":"https://auth.example.com/t"}`, "tokenURL"},
		{"token_url", `{"token_url":"https://auth.example.com/t"}`, "tokenURL"},
		{"grant_type", `{"grant_type":"client_credentials"}`, "grantType"},
		{"auth style typo", `{"authStyel":"header"}`, "authStyle"},
		{"canonical also set", `{"tokenURL":"https://a/t","TokenURL":"https://b/t"}`, ""},
		{"scope has no default", `{"Scope":"x"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(testPath, []byte(tt.data))
			if tt.field == "" {
				if err != nil {
					t.Errorf("Parse = %v, want nil", err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || len(inv.Problems) != 1 || inv.Problems[0].Field != tt.field {
				t.Fatalf("Parse = %v, want one problem for %s", err, tt.field)
			}
			if !strings.Contains(inv.Problems[0].Msg, "rename it to") {
				t.Errorf("problem %q does not say to rename", inv.Problems[0])
			}
		})
	}
}

func TestParseDuplicateLastWins(t *testing.T) {
	c, err := Parse(testPath, []byte(`{"appID": 1, "appID": "b"}`))
	if err != nil {
		t.Fatalf("Parse: %v (the number was overridden; want no error)", err)
	}
	wantField(t, "AppID", c.AppID, "b")
}

// TestMissingNamesLookAlike: a required field that is absent says which
// unknown key probably meant it, since a failed Load shows no warnings.
func TestMissingNamesLookAlike(t *testing.T) {
	_, err := Load(filepath.Join(fixtures, "unknown-fields.json"))
	if err == nil {
		t.Fatal("Load: got nil error")
	}
	for _, want := range []string{
		`appID: required, not set (the file has an unknown field "appId": rename it to "appID")`,
		`clientSecret: required for grantType "password", not set (the file has an unknown field "client_secret": rename it to "clientSecret")`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error\n%v\nwant a line %q", err, want)
		}
	}
}

func TestParseEmptyPath(t *testing.T) {
	_, err := Parse("", []byte("{,}"))
	if want := "credentials: 1:2: invalid character ',' looking for beginning of object key string"; err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
	c, err := Parse("", []byte(`{}`))
	if err != nil || c.Path != "" {
		t.Errorf("Parse(\"\", {}) = %v, %v; want empty Path", c, err)
	}
	if err := c.Validate(); err == nil || !strings.HasPrefix(err.Error(), "credentials: 4 problems") {
		t.Errorf("Validate() = %v, want credentials: 4 problems…", err)
	}
}

func TestSuggestDistanceBounds(t *testing.T) {
	tests := []struct{ key, want string }{
		{"url", "tokenURL"}, // alias, not distance
		{"uid", ""},         // short: no edit allowed
		{"scop", "scope"},
		{"scopez", "scope"},
		{"sc", ""},
		{"appSecret", ""},
		{"", ""},
		{"__", ""},
		{strings.Repeat("x", 10000), ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.key); got != tt.want {
			t.Errorf("suggest(%.20q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
