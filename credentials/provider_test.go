package credentials

import "testing"

// TestStandardGitUsername: the git hosts' conventions, by the token
// endpoint's host or a parent domain; oauth2 elsewhere.
func TestStandardGitUsername(t *testing.T) {
	for url, want := range map[string]string{
		"https://github.com/login/oauth/access_token":    "x-access-token",
		"https://api.github.com/token":                   "x-access-token",
		"https://bitbucket.org/site/oauth2/access_token": "x-token-auth",
		"https://gitlab.com/oauth/token":                 "oauth2",
		"https://notgithub.com/token":                    "oauth2",
		"https://auth.example.com/token":                 "oauth2",
	} {
		c := &Credentials{TokenURL: url}
		if got := PresetFor(c).Behaviour().GitUsername(c); got != want {
			t.Errorf("GitUsername(%s) = %q, want %q", url, got, want)
		}
	}
}

// TestProviderRows: every provider's own questions name fields of the one
// field table, and a refusal is read by its endpoint's provider, else by the
// one whose words it is in.
func TestProviderRows(t *testing.T) {
	for _, p := range Presets {
		for _, q := range p.Behaviour().Questions() {
			if FieldNamed(q.Field) == nil {
				t.Errorf("%s asks for %q, which is no field", p.Name, q.Field)
			}
		}
	}
	concurAnswer := Refusal{Status: 400, Code: "invalid_grant", ProviderCode: 5}
	if _, ok := RefusalProvider("http://127.0.0.1:9/token", concurAnswer).Read(concurAnswer); !ok {
		t.Error("an answer with an error and Concur's code is not read as Concur's at a loopback endpoint")
	}
	kore := Refusal{Status: 400, ProviderCode: 400}
	if _, ok := RefusalProvider("https://api.korewireless.com/api-services/v1/auth/token", kore).Read(kore); ok {
		t.Error("KORE's code was read as a provider's own")
	}
}
