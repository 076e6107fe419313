package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/oidcprovider"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// TestLoginSameClient: a login warns about another profile that holds a live
// refresh token of the same client at the same provider (Dex keeps one per
// user and client), naming it and leaking no secret; a profile of another
// client, or of the same appID at another provider, is not warned about.
func TestLoginSameClient(t *testing.T) {
	bin := binaryTest(t)
	p := oidcprovider.Start(t, oidcprovider.Options{})
	other := oidcprovider.Start(t, oidcprovider.Options{}) // the same appID, another provider
	root := t.TempDir()
	cfg, state := filepath.Join(root, "config"), filepath.Join(root, "state")
	writeCreds := func(profile string, creds map[string]string) {
		t.Helper()
		dir := filepath.Join(cfg, profile)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		data, _ := json.MarshalIndent(creds, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, "credentials.json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	login := func(profile string, at *oidcprovider.Provider) outcome {
		t.Helper()
		cmd := exec.Command(bin, "--profile", profile, "login")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root,
			"TOKENKEEPER_CONFIG_DIR=" + cfg, "TOKENKEEPER_STATE_DIR=" + state,
			"BROWSER=" + os.Args[0], browserActionEnv + "=allow", browserUserEnv + "=" + at.Username}
		o := runAll(t, []*exec.Cmd{cmd})[0]
		if o.code != 0 {
			t.Fatalf("login %s: %s", profile, o)
		}
		return o
	}
	secrets := func() []string {
		var s []string
		for _, prof := range []string{"alpha", "beta", "gamma"} {
			data, err := os.ReadFile(filepath.Join(state, prof, "refreshTokenObjectFile.json"))
			if err != nil {
				continue
			}
			tok, err := refresh.ParseFile(data)
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, tok.AccessToken, tok.RefreshToken)
		}
		return s
	}
	creds := func(at *oidcprovider.Provider, issuer string) map[string]string {
		return map[string]string{"issuer": issuer, "grantType": "authorization_code", "appID": at.ClientID, "scope": "openid offline_access"}
	}

	writeCreds("alpha", creds(p, p.Issuer))
	if o := login("alpha", p); strings.Contains(o.stderr, "warning") {
		t.Errorf("the first login warned:\n%s", o.stderr)
	}
	// The same client at the same provider, named by its endpoints (the
	// token endpoint written another way) rather than its issuer.
	var doc struct {
		Token string `json:"token_endpoint"`
		Auth  string `json:"authorization_endpoint"`
	}
	resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || doc.Token == "" {
		t.Fatalf("discovery: %v %+v", err, doc)
	}
	b := creds(p, "")
	delete(b, "issuer")
	b["tokenURL"], b["authURL"] = strings.Replace(doc.Token, "http://", "HTTP://", 1), doc.Auth
	writeCreds("beta", b)
	o := login("beta", p)
	want := "tokenkeeper: warning: profile alpha holds a live refresh token of the same client (appID) at the same provider; providers such as Dex keep one refresh token per user and client, so if they log in the same user, this login may end their grant\n" +
		"tokenkeeper: hint: to use one grant where both are needed, keep one profile (tokenkeeper --profile alpha token; on other hosts, --store shares one profile's grant), or give each profile a client of its own\n"
	if !strings.Contains(o.stderr, want) {
		t.Errorf("the second login did not warn about alpha:\n%s", o.stderr)
	}
	for _, s := range secrets() {
		if s != "" && strings.Contains(o.stdout+o.stderr, s) {
			t.Errorf("the warning leaked a token:\n%s", o.stderr)
		}
	}
	// Both alpha and beta now hold live refresh tokens (this provider keeps
	// many per client): gamma's login names both.
	writeCreds("gamma", creds(p, p.Issuer))
	if o := login("gamma", p); !strings.Contains(o.stderr, "warning: profiles alpha, beta hold live refresh tokens of the same client") {
		t.Errorf("gamma's login did not name alpha and beta:\n%s", o.stderr)
	}

	// Another client: alpha's credentials now name another appID, and beta's
	// refresh token was refused: nobody else holds a live grant of gamma's
	// client, and gamma's new login says nothing.
	a := creds(p, p.Issuer)
	a["appID"] = "another-client"
	writeCreds("alpha", a)
	markRefused(t, filepath.Join(state, "beta", "refreshTokenObjectFile.json"))
	if o := login("gamma", p); strings.Contains(o.stderr, "warning") {
		t.Errorf("a login warned about another client's or a refused grant:\n%s", o.stderr)
	}
	// The same appID at another provider: no warning.
	writeCreds("delta", creds(other, other.Issuer))
	if o := login("delta", other); strings.Contains(o.stderr, "warning") {
		t.Errorf("a login warned about the same appID at another provider:\n%s", o.stderr)
	}
}

// markRefused makes a record's refresh token one the provider refused, as
// the lifecycle records it.
func markRefused(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := refresh.ParseFile(data)
	if err != nil {
		t.Fatal(err)
	}
	tok.Refusal = &refresh.Refusal{At: tok.ObtainedAt, Refresh: recordFingerprint(tok.RefreshToken)}
	out, err := tok.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// recordFingerprint is how a record names a refused refresh token.
func recordFingerprint(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:8])
}
