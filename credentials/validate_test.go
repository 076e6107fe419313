package credentials

import (
	"errors"
	"io/fs"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// complete returns valid credentials for grant; tests change one thing.
func complete(grant string) *Credentials {
	c := &Credentials{
		TokenURL: DefaultTokenURL, GrantType: grant, AppID: "app", AuthStyle: AuthParams,
	}
	switch grant {
	case GrantPassword, "":
		c.ClientSecret, c.CompanyUUID, c.CompanyRequestToken = "SECRET-cs", "uuid", "SECRET-crt"
	case GrantClientCredentials:
		c.ClientSecret = "SECRET-cs"
	case GrantRefreshToken:
		c.RefreshToken = "SECRET-rt"
	}
	return c
}

func TestValidateTokenURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // substring of the problem; "" for valid
	}{
		{"https://us.api.concursolutions.com/oauth2/v0/token", ""},
		{"HTTPS://Auth.Example.com:8443/realms/x/protocol/openid-connect/token", ""},
		{"https://auth.example.com/token?tenant=1", ""},
		{"", ""}, // means the default
		{"http://127.0.0.1:8080/token", ""},
		{"http://127.8.9.10/token", ""},
		{"http://[::1]:9000/token", ""},
		{"http://localhost:9000/token", ""},
		{"http://LOCALHOST/token", ""},
		{"http://localhost./token", ""},
		{"http://[::ffff:127.0.0.1]/token", ""},
		{"http://us.api.concursolutions.com/oauth2/v0/token", `"http://us.api.concursolutions.com/oauth2/v0/token" uses http:// to a host that is not loopback`},
		{"http://10.0.0.1/token", "not loopback"},
		{"http://0.0.0.0/token", "not loopback"},
		{"http://128.0.0.1/token", "not loopback"},
		{"http://localhost.example.com/token", "not loopback"},
		{"http://[::2]/token", "not loopback"},
		{"ftp://example.com/token", `scheme "ftp" not supported; use https://`},
		{"us.api.concursolutions.com/oauth2/v0/token", `"us.api.concursolutions.com/oauth2/v0/token" has no scheme; want "https://us.api.concursolutions.com/oauth2/v0/token"`},
		{"127.0.0.1:8080/token", `"127.0.0.1:8080/token" has no scheme; want "https://127.0.0.1:8080/token" (http:// only for a loopback host)`},
		{"localhost:8080/token?secret=x", `"localhost:8080/token" has no scheme`},
		{"user:pw@example.com/token", "has no scheme (https://)"},
		{"/oauth2/v0/token", "is not an absolute URL"},
		{"https:///token", "is not an absolute URL"},
		{"https:opaque", "is not an absolute URL"},
		{"https://:443/token", "is not an absolute URL"},
		{"https://user:SECRET-pw@example.com/token", "must not contain a user name or password"},
		{"https://example.com/token#frag", `"https://example.com/token#[redacted]" must not contain a fragment`},
		{"https://example.com/token#", "must not contain a fragment"},
		{"https://example.com:port/token", "not a valid URL: invalid port"},
		{"http://127.0.0.1:/token", `"http://127.0.0.1:/token" has an empty port`},
		{"https://example.com:/token", "has an empty port"},
		{"http://[::1]:/token", "has an empty port"},
		{"http://127.0.0.1:0/token", "port 0 is not one of 1 to 65535"},
		{"https://example.com:65536/token", "port 65536 is not one of 1 to 65535"},
		{"https://example.com:65535/token", ""},
		{"http://127.0.0.1:1/token", ""},
		{"https://exa mple.com/token", "not a valid URL"},
		{"://x", "not a valid URL: missing protocol scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c := complete(GrantClientCredentials)
			c.TokenURL = tt.url
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			p := onlyProblem(t, err)
			if p.Field != "tokenURL" || !strings.Contains(p.Msg, tt.want) {
				t.Errorf("problem = %q, want tokenURL: …%s…", p, tt.want)
			}
			if strings.Contains(err.Error(), "SECRET") {
				t.Errorf("error shows the URL's password: %v", err)
			}
		})
	}
}

func TestValidateGrantAndStyle(t *testing.T) {
	tests := []struct {
		name      string
		grant     string
		authStyle string
		field     string // "" for valid
		want      string
	}{
		{"password", GrantPassword, AuthParams, "", ""},
		{"client_credentials header", GrantClientCredentials, AuthHeader, "", ""},
		{"refresh_token auto", GrantRefreshToken, AuthAuto, "", ""},
		{"empty means defaults", "", "", "", ""},
		{"unknown grant", "implicit", AuthParams, "grantType",
			`unknown grant type "implicit"; want one of password, client_credentials, refresh_token, authorization_code, device_code`},
		{"grant case", "Client_Credentials", AuthParams, "grantType", `(did you mean "client_credentials"?)`},
		{"grant dash", "client-credentials", AuthParams, "grantType", `(did you mean "client_credentials"?)`},
		{"long value not quoted", strings.Repeat("x", 40), AuthParams, "grantType", "unknown grant type (a 40-character value)"},
		{"unknown style", GrantPassword, "basic", "authStyle", `unknown auth style "basic"; want one of params, header, auto`},
		{"style case", GrantPassword, "Header", "authStyle", `(did you mean "header"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := complete(tt.grant)
			c.AuthStyle = tt.authStyle
			err := c.Validate()
			if tt.field == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Validate() = %v, want *InvalidError", err)
			}
			found := false
			for _, p := range inv.Problems {
				found = found || p.Field == tt.field && strings.Contains(p.Msg, tt.want)
			}
			if !found {
				t.Errorf("Validate() = %v, want %s: …%s…", err, tt.field, tt.want)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	tests := []struct {
		name  string
		grant string
		clear []string
		want  []string
	}{
		{"password complete", GrantPassword, nil, nil},
		{"password empty", GrantPassword, fieldNames,
			[]string{"appID", "clientSecret", "companyUUID", "companyRequestToken"}},
		{"password blank secret", GrantPassword, []string{"clientSecret"}, []string{"clientSecret"}},
		{"client_credentials empty", GrantClientCredentials, fieldNames, []string{"appID", "clientSecret"}},
		{"refresh_token empty", GrantRefreshToken, fieldNames, []string{"appID", "refreshToken"}},
		{"refresh_token public client", GrantRefreshToken, []string{"clientSecret"}, nil},
		{"unknown grant", "implicit", fieldNames, []string{"appID"}},
		{"empty grant means password", "", []string{"companyUUID"}, []string{"companyUUID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := complete(tt.grant)
			for _, f := range tt.clear {
				*c.field(f) = ""
			}
			c.GrantType = tt.grant
			if got := c.Missing(); !slices.Equal(got, tt.want) {
				t.Errorf("Missing() = %q, want %q", got, tt.want)
			}
			err := c.Validate()
			if got := errors.Is(err, ErrIncomplete); got != (len(tt.want) > 0) {
				t.Errorf("errors.Is(%v, ErrIncomplete) = %v, want %v", err, got, len(tt.want) > 0)
			}
		})
	}
}

func TestMissingIgnoresWhitespace(t *testing.T) {
	c := complete(GrantPassword)
	c.AppID = " \n" // set by hand, not by Parse
	if got := c.Missing(); !slices.Equal(got, []string{"appID"}) {
		t.Errorf("Missing() = %q, want [appID]", got)
	}
}

func TestValidateControlCharacters(t *testing.T) {
	c := complete(GrantPassword)
	c.ClientSecret = "SECRET-a\nSECRET-b"
	c.Scope = "a\tb"
	c.TokenURL = "https://example.com/\x00"
	err := c.Validate()
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Validate() = %v, want *InvalidError", err)
	}
	want := []string{"tokenURL", "clientSecret", "scope"}
	if got := problemFields(inv); !slices.Equal(got, want) {
		t.Errorf("fields = %q, want %q", got, want)
	}
	for _, p := range inv.Problems {
		if p.Msg != "contains a line break or other control character" {
			t.Errorf("%s", p)
		}
	}
	if errors.Is(err, ErrIncomplete) {
		t.Error("matches ErrIncomplete; want not")
	}
}

func TestInvalidErrorText(t *testing.T) {
	one := &InvalidError{Path: testPath, Problems: []Problem{{Field: "appID", Msg: "required, not set", missing: true}}}
	if got, want := one.Error(), "credentials: "+testPath+": appID: required, not set"; got != want {
		t.Errorf("one problem: %q, want %q", got, want)
	}
	two := &InvalidError{Path: testPath, Problems: []Problem{
		{Field: "appID", Msg: "required, not set"},
		{Field: "grantType", Msg: `unknown grant type "x"`},
	}}
	want := "credentials: " + testPath + ": 2 problems\n  appID: required, not set\n  grantType: unknown grant type \"x\""
	if got := two.Error(); got != want {
		t.Errorf("two problems:\n%s\nwant\n%s", got, want)
	}
	if errors.Is(two, ErrIncomplete) {
		t.Error("no problem is marked missing, yet ErrIncomplete matched")
	}
	if !errors.Is(one, ErrIncomplete) {
		t.Error("missing appID did not match ErrIncomplete")
	}
	if got := (&InvalidError{}).Error(); got != "credentials: invalid" {
		t.Errorf("no problems: %q", got)
	}
}

func TestValidateUsesPath(t *testing.T) {
	path := filepath.Join(tempDir(t), FileName)
	c := &Credentials{Path: path}
	err := c.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "credentials: "+path+": 4 problems") {
		t.Errorf("Validate() = %v, want it to start with the path and 4 problems", err)
	}
}

func TestContractFaults(t *testing.T) {
	tests := []struct {
		file    string
		check   func(error) bool
		message string // substring of the error
	}{
		{"empty.json", isErr(ErrEmpty), "file is empty"},
		{"whitespace.json", isErr(ErrEmpty), "file is empty"},
		{"not-json.json", isSyntax, ":1:1: invalid character 'a'"},
		{"trailing-comma.json", isSyntax, ":4:1: invalid character '}'"},
		{"array.json", isSyntax, "want a JSON object"},
		{"wrong-types.json", isInvalid, "appID: want a string, got number"},
		{"unknown-grant.json", isInvalid, `grantType: unknown grant type "implicit"`},
		{"http-remote.json", isInvalid, "tokenURL: \"http://us.api.concursolutions.com/oauth2/v0/token\" uses http://"},
		{"synonym-conflict.json", isInvalid, `appID: set both as "appID" and as its synonym "clientID"`},
		{"tutorial.json", isErr(ErrIncomplete), "4 problems"},
		{"does-not-exist.json", isNotExist, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path, _ := filepath.Abs(filepath.Join(fixtures, tt.file))
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load = %v, nil; want an error", c)
			}
			if c != nil {
				t.Errorf("Load returned %v with the error; want nil", c)
			}
			if !tt.check(err) {
				t.Errorf("Load error %T %v: wrong kind", err, err)
			}
			if tt.message == "no such file" && runtime.GOOS == "windows" {
				tt.message = "not found" // the system's own words
			}
			if !strings.Contains(err.Error(), tt.message) || !strings.Contains(err.Error(), path) {
				t.Errorf("Load error %q: want %q and the path", err, tt.message)
			}
		})
	}
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func isSyntax(err error) bool {
	var se *SyntaxError
	return errors.As(err, &se) && se.Line > 0
}

func isInvalid(err error) bool {
	var inv *InvalidError
	return errors.As(err, &inv) && !errors.Is(err, ErrIncomplete)
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func onlyProblem(t *testing.T, err error) Problem {
	t.Helper()
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Validate() = %v, want *InvalidError", err)
	}
	if len(inv.Problems) != 1 {
		t.Fatalf("Validate() = %v, want exactly one problem", err)
	}
	return inv.Problems[0]
}

// CheckTokenURL (tokenurl.go) exposes the tokenURL rule to other packages.
func TestCheckTokenURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://emea.api.concursolutions.com/oauth2/v0/token": true,
		"http://127.0.0.1:1/token":                             true,
		"http://emea.api.concursolutions.com/oauth2/v0/token":  false,
		"": false,
	} {
		err := CheckTokenURL(raw)
		if (err == nil) != ok {
			t.Errorf("CheckTokenURL(%q) = %v, want ok=%v", raw, err, ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "credentials: ") {
			t.Errorf("CheckTokenURL(%q) = %q, want the credentials: prefix", raw, err)
		}
	}
}

// TestMissingWords: a missing field of the password grant is named in the
// endpoint's words (username, password) except at Concur's, whose own names
// they are; Missing keeps the canonical names, and each problem is About its
// field whatever it is called.
func TestMissingWords(t *testing.T) {
	tests := []struct {
		name, tokenURL, issuer string
		want                   []string
	}{
		{"concur", "https://us.api.concursolutions.com/oauth2/v0/token", "", []string{"companyUUID", "companyRequestToken"}},
		{"default endpoint (concur)", "", "", []string{"companyUUID", "companyRequestToken"}},
		{"generic", "https://auth.example.com/token", "", []string{"username", "password"}},
		{"issuer only", "", "https://auth.example.com", []string{"username", "password"}},
	}
	for _, tt := range tests {
		c := complete(GrantPassword)
		c.TokenURL, c.Issuer, c.CompanyUUID, c.CompanyRequestToken = tt.tokenURL, tt.issuer, "", ""
		var inv *InvalidError
		if !errors.As(c.Validate(), &inv) || len(inv.Problems) != 2 {
			t.Fatalf("%s: Validate() = %v, want two problems", tt.name, c.Validate())
		}
		for i, p := range inv.Problems {
			if p.Field != tt.want[i] || !p.About([]string{"companyUUID", "companyRequestToken"}[i]) {
				t.Errorf("%s: problem %d is %q, want %q about its field", tt.name, i, p, tt.want[i])
			}
		}
		if got := c.Missing(); !slices.Equal(got, []string{"companyUUID", "companyRequestToken"}) {
			t.Errorf("%s: Missing() = %q, want the canonical names", tt.name, got)
		}
	}
}

// TestErrorDetail: Detail is Error without the package's name, for every
// shape of the two errors a program shows on their own.
func TestErrorDetail(t *testing.T) {
	for _, tt := range []struct {
		err interface {
			error
			Detail() string
		}
		want string
	}{
		{&SyntaxError{Path: "/c.json", Line: 3, Col: 1, Msg: "invalid character"}, "/c.json:3:1: invalid character"},
		{&SyntaxError{Path: "/c.json", Msg: msgEmpty}, "/c.json: file is empty"},
		{&SyntaxError{Msg: msgEmpty}, "file is empty"},
		{&InvalidError{Path: "/c.json", Problems: []Problem{{Field: "appID", Msg: "required, not set"}}}, "/c.json: appID: required, not set"},
		{&InvalidError{Problems: []Problem{{Field: "a", Msg: "x"}, {Field: "b", Msg: "y"}}}, "2 problems\n  a: x\n  b: y"},
		{&InvalidError{}, "invalid"},
	} {
		if got := tt.err.Detail(); got != tt.want {
			t.Errorf("Detail: got %q, want %q", got, tt.want)
		}
		if got, want := tt.err.Error(), "credentials: "+tt.want; got != want {
			t.Errorf("Error: got %q, want %q", got, want)
		}
	}
}
