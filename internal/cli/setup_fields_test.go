package cli

import (
	"testing"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

func TestKeycloakURL(t *testing.T) {
	tests := []struct{ base, realm, want string }{
		{"https://auth.example.com", "acme", "https://auth.example.com/realms/acme/protocol/openid-connect/token"},
		{"https://auth.example.com/", "acme", "https://auth.example.com/realms/acme/protocol/openid-connect/token"},
		{"https://old.example.com/auth", "master", "https://old.example.com/auth/realms/master/protocol/openid-connect/token"},
		{"https://auth.example.com/realms/x/protocol/openid-connect/token", "ignored", "https://auth.example.com/realms/x/protocol/openid-connect/token"},
		{"https://auth.example.com", "my realm", "https://auth.example.com/realms/my%20realm/protocol/openid-connect/token"},
	}
	for _, tt := range tests {
		got := keycloakURL(tt.base, tt.realm)
		if got != tt.want {
			t.Errorf("keycloakURL(%q, %q) = %q, want %q", tt.base, tt.realm, got, tt.want)
		}
		base, realm, ok := splitKeycloakURL(got)
		if !ok || keycloakURL(base, realm) != got {
			t.Errorf("splitKeycloakURL(%q) = %q, %q, %v: does not round-trip", got, base, realm, ok)
		}
	}
	if _, _, ok := splitKeycloakURL("https://x/users-auth/protocol/openid-connect/token"); ok {
		t.Error("splitKeycloakURL accepted a URL without /realms/")
	}
}

func TestApplyPreset(t *testing.T) {
	c := &credentials.Credentials{GrantType: "password", CredentialType: "authtoken", TokenURL: credentials.DefaultTokenURL}
	if err := applyPreset(c, "kore", ""); err != nil {
		t.Fatal(err)
	}
	if c.TokenURL != preset("kore").TokenURL || c.GrantType != "client_credentials" || c.CredentialType != "" {
		t.Errorf("kore preset: %v", c)
	}
	if err := applyPreset(c, "concur", "eu"); err != nil {
		t.Fatal(err)
	}
	if c.TokenURL != "https://emea.api.concursolutions.com/oauth2/v0/token" || c.GrantType != "password" || c.CredentialType != "authtoken" {
		t.Errorf("concur preset: %v", c)
	}
	for _, bad := range [][2]string{{"concur", "mars"}, {"nope", ""}, {"kore", "eu"}} {
		if err := applyPreset(c, bad[0], bad[1]); err == nil {
			t.Errorf("applyPreset(%q, %q) = nil, want an error", bad[0], bad[1])
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := map[string]string{
		"/usr/local/bin/tokenkeeper": "/usr/local/bin/tokenkeeper",
		"/home/me/My Tokens":         "'/home/me/My Tokens'",
		"/tmp/it's":                  `'/tmp/it'\''s'`,
		"":                           "''",
	}
	for in, want := range tests {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFirstExchangeOptions(t *testing.T) {
	rt := &credentials.Credentials{GrantType: "refresh_token", RefreshToken: "a"}
	rt2 := &credentials.Credentials{GrantType: "refresh_token", RefreshToken: "b"}
	pw := &credentials.Credentials{GrantType: "password"}
	if o := firstExchangeOptions(pw, pw, true, false); o.Force || o.Regrant {
		t.Errorf("unchanged: %+v, want neither Force nor Regrant", o)
	}
	if o := firstExchangeOptions(pw, pw, true, true); !o.Regrant {
		t.Errorf("changed password credentials: %+v, want Regrant", o)
	}
	if o := firstExchangeOptions(rt, rt, true, true); !o.Force || o.Regrant {
		t.Errorf("changed, same refreshToken: %+v, want Force only", o)
	}
	if o := firstExchangeOptions(rt2, rt, true, true); !o.Regrant {
		t.Errorf("new refreshToken: %+v, want Regrant", o)
	}
}
