package credentials

import (
	"errors"
	"strings"
	"testing"
)

// The login fields (docs/contract.md §7): issuer, the endpoints, redirectURL, authParams.
func TestLoginFields(t *testing.T) {
	for _, tt := range []struct {
		name, json, want string // want: "" for valid, else a substring of the error
	}{
		{"issuer only", `{"grantType":"authorization_code","appID":"a","issuer":"https://id.example.com/realms/r"}`, ""},
		{"public client device", `{"grantType":"device_code","appID":"a","tokenURL":"https://x/t","deviceAuthURL":"https://x/d"}`, ""},
		{"no auth endpoint", `{"grantType":"authorization_code","appID":"a","tokenURL":"https://x/t"}`,
			`authURL: required for grantType "authorization_code" unless issuer is set`},
		{"no device endpoint", `{"grantType":"device_code","appID":"a","tokenURL":"https://x/t"}`,
			`deviceAuthURL: required for grantType "device_code" unless issuer is set`},
		{"http issuer", `{"grantType":"authorization_code","appID":"a","issuer":"http://id.example.com"}`, "issuer: \"http://id.example.com\" uses http://"},
		{"http issuer on loopback", `{"grantType":"authorization_code","appID":"a","issuer":"http://127.0.0.1:8080"}`, ""},
		{"http revocation", `{"grantType":"authorization_code","appID":"a","issuer":"https://x","revocationURL":"http://x/revoke"}`, "revocationURL:"},
		{"remote redirect", `{"grantType":"authorization_code","appID":"a","issuer":"https://x","redirectURL":"https://app.example.com/cb"}`, "redirectURL:"},
		{"loopback redirect", `{"grantType":"authorization_code","appID":"a","issuer":"https://x","redirectURL":"http://localhost:8400/callback"}`, ""},
		{"authParams", `{"grantType":"authorization_code","appID":"a","issuer":"https://x","authParams":{"access_type":"offline","prompt":"consent"}}`, ""},
		{"authParams not object", `{"grantType":"authorization_code","appID":"a","issuer":"https://x","authParams":"prompt=consent"}`, "authParams: want an object of strings"},
		{"authParams number", `{"grantType":"authorization_code","appID":"a","issuer":"https://x","authParams":{"max_age":5}}`, `authParams: "max_age": want a string, got number`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("c.json", []byte(tt.json))
			if err == nil {
				err = c.Validate()
			}
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoginFieldsParsed(t *testing.T) {
	c, err := Parse("c.json", []byte(`{"grantType":"authorization_code","appID":"a","issuer":"https://x/r","authParams":{"prompt":" consent "}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.TokenURL != "" {
		t.Errorf("TokenURL = %q, want empty: with an issuer it is discovered", c.TokenURL)
	}
	if c.AuthParams["prompt"] != "consent" {
		t.Errorf("AuthParams = %v", c.AuthParams)
	}
	if !Interactive(c.GrantType) || Interactive(GrantRefreshToken) {
		t.Error("Interactive is wrong")
	}
	// Saved and loaded again, the fields survive.
	path := tempDir(t) + "/credentials.json"
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	d, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Issuer != c.Issuer || d.AuthParams["prompt"] != "consent" {
		t.Errorf("after Save/Load: %+v", d)
	}
	var inv *InvalidError
	_, err = Parse("c.json", []byte(`{"authParams":[1]}`))
	if !errors.As(err, &inv) {
		t.Errorf("authParams array: got %v, want *InvalidError", err)
	}
}
