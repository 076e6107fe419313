package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/prompt"
)

// acme is a provider added the way docs/DESIGN.md ("Providers") says one is:
// this type (its file in credentials/ would hold only this) and one row of
// credentials.Presets (acmeRow). Its own code 42 asks a person to act.
type acme struct{ credentials.Standard }

const acmeAdvice = "ask the ACME desk to unlock the client of {file}"

func (acme) Read(r credentials.Refusal) (credentials.Reading, bool) {
	if r.ProviderCode == 42 {
		return credentials.Reading{Class: credentials.RefusedPerson, Do: acmeAdvice}, true
	}
	return credentials.Reading{}, false
}

func (acme) Questions() []credentials.Question {
	return []credentials.Question{{Field: "appID", Label: "ACME client number"}, {Field: "clientSecret", Label: "ACME client secret"}}
}

func (acme) GitUsername(*credentials.Credentials) string { return "acme-bot" }

var acmeRow = credentials.Preset{
	Name: "acme", Help: "ACME Tokens (a provider added by a test)",
	Grants:    []string{credentials.GrantClientCredentials, credentials.GrantRefreshToken},
	TokenPath: "/acme/oauth/token",
	Provider:  acme{},
}

// withAcme adds acme's row to the table for the test. The table is package
// state: these tests do not run in parallel.
func withAcme(t *testing.T) {
	old := credentials.Presets
	credentials.Presets = append(slices.Clip(old), acmeRow)
	t.Cleanup(func() { credentials.Presets = old })
}

// TestAddProvider: a provider is one file and one table row. Once acme's row
// is in the table, the preset lookup recognises its token URL, setup's menu
// and --preset offer it, git-credential gives its username, the wizard offers
// its grants (and no other) and asks its questions, and a refusal in its own
// words gets its advice and kind, through setup's first exchange.
func TestAddProvider(t *testing.T) {
	withAcme(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"access_denied","error_description":"client locked","code":42}`)
	}))
	t.Cleanup(srv.Close)
	tokenURL := srv.URL + acmeRow.TokenPath

	t.Run("lookup and menu", func(t *testing.T) {
		if got := credentials.PresetOf(tokenURL).Name; got != "acme" {
			t.Errorf("PresetOf(%s) = %s, want acme", tokenURL, got)
		}
		if !slices.ContainsFunc(presetChoices(), func(c prompt.Choice) bool { return c.Name == "acme" }) {
			t.Error("setup's provider menu has no acme")
		}
		if near := credentials.NearestPreset("acmme"); near != "acme" {
			t.Errorf("NearestPreset(acmme) = %q, want acme", near)
		}
		c := &credentials.Credentials{GrantType: credentials.GrantPassword}
		if err := applyPreset(c, "acme", ""); err != nil || c.GrantType != credentials.GrantClientCredentials {
			t.Errorf("applyPreset(acme): %v, grant %q; want the row's first grant", err, c.GrantType)
		}
		c.TokenURL = tokenURL
		if u := gitUsername(c); u != "acme-bot" {
			t.Errorf("git-credential's username = %q, want acme's", u)
		}
	})

	t.Run("wizard", func(t *testing.T) {
		var out strings.Builder
		c := &credentials.Credentials{Path: filepath.Join(t.TempDir(), "credentials.json")}
		w := &wizard{ctx: t.Context(), c: c, p: &prompt.Prompter{
			In: strings.NewReader(tokenURL + "\nrefresh_token\n1234\nsecret-acme\n"), Out: &out}}
		if err := w.step("acme")(); err != nil {
			t.Fatalf("wizard: %v\n%s", err, out.String())
		}
		asked := out.String()
		for _, want := range []string{"client_credentials", "refresh_token", "ACME client number", "ACME client secret"} {
			if !strings.Contains(asked, want) {
				t.Errorf("the wizard did not offer or ask %q:\n%s", want, asked)
			}
		}
		if strings.Contains(asked, credentials.GrantPassword) || strings.Contains(asked, "authStyle") {
			t.Errorf("the wizard offered more than acme's grants and questions:\n%s", asked)
		}
		if c.TokenURL != tokenURL || c.GrantType != credentials.GrantRefreshToken || c.AppID != "1234" || c.ClientSecret != "secret-acme" {
			t.Errorf("wizard set %+v", c)
		}
	})

	t.Run("advice", func(t *testing.T) {
		dir := t.TempDir()
		var stderr strings.Builder
		code := Run(t.Context(), []string{"--dir", dir, "setup", "--no-input", "--preset", "acme", "--token-url", tokenURL,
			"--app-id", "1234", "--client-secret", "-"}, strings.NewReader("secret-acme\n"), io.Discard, &stderr)
		want := strings.ReplaceAll(acmeAdvice, "{file}", filepath.Join(dir, "credentials.json"))
		if code != exitNeedsHuman || !strings.Contains(stderr.String(), want) {
			t.Errorf("setup: exit %d, %q; want exit %d and %q", code, stderr.String(), exitNeedsHuman, want)
		}
		if strings.Contains(stderr.String(), "secret-acme") {
			t.Errorf("the secret reached stderr: %q", stderr.String())
		}
	})
}
