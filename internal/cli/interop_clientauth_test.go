package cli

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/oidcnode"
	"github.com/tokenkeeper/tokenkeeper/internal/oidcprovider"
	"github.com/tokenkeeper/tokenkeeper/internal/testkeys"
)

// TestInteropClientAuth: client authentication without a secret
// (docs/providers.md, "Client authentication"), through the binary, at
// provider implementations nobody here wrote: their own JOSE code verifies
// our assertions (ECDSA's R||S included), and oidc-provider checks a
// self-signed client certificate presented over TLS.
func TestInteropClientAuth(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary and starts providers")
	}
	bin := buildTokenkeeper(t)
	t.Run("zitadel-op/PrivateKeyJWTLogin", func(t *testing.T) { zitadelKeyLogin(t, bin) })
	t.Run("oidc-provider", func(t *testing.T) {
		keys := map[string]string{}
		for _, kind := range testkeys.Kinds {
			keys[kind] = string(testkeys.PublicPEM(testkeys.Key(kind)))
		}
		server := testkeys.Key("p384")
		tlsPEMs := [2][]byte{testkeys.SelfSigned(testkeys.Key("p256"), "tk-mtls"), testkeys.ServerCert(server)}
		p := oidcnode.StartWith(t, oidcnode.Options{ClientKeys: keys,
			ClientCert: string(tlsPEMs[0]), ServerCert: string(tlsPEMs[1]), ServerKey: string(testkeys.PEM(server))})
		ip := &interopProvider{name: "oidc-provider", issuer: p.Issuer, client: oidcnode.JWTClient,
			authParams: map[string]string{"prompt": "consent"}, browser: "oidc-provider", username: oidcnode.Username,
			refreshUses: p.RefreshUses, live: p.RefreshTokenLive}
		for _, kind := range testkeys.Kinds {
			t.Run("ClientCredentials/"+kind, func(t *testing.T) { nodeKeyClientCredentials(t, bin, ip, kind) })
		}
		t.Run("LoginRefreshLogout", func(t *testing.T) { nodeKeyLogin(t, bin, ip) })
		t.Run("SelfSignedTLS", func(t *testing.T) { nodeSelfSignedTLS(t, bin, ip, tlsPEMs[0], tlsPEMs[1]) })
	})
}

// keyProfile is an interop profile whose client authenticates with
// testkeys' key of kind, written beside credentials.json (0600).
func keyProfile(t *testing.T, bin string, ip *interopProvider, grant, client, method, kind string, creds map[string]any) *interopProfile {
	t.Helper()
	c := map[string]any{"appID": client, "clientSecret": nil, "clientAuth": method, "clientKey": "client.key", "clientKeyID": kind}
	for k, v := range creds {
		c[k] = v
	}
	pp := newInteropProfile(t, bin, ip, grant, client, c)
	if err := os.WriteFile(filepath.Join(pp.dir, "client.key"), testkeys.PEM(testkeys.Key(kind)), 0o600); err != nil {
		t.Fatal(err)
	}
	return pp
}

// noKeyMaterial fails when a client assertion (a JWT whose iss is the
// client: an ID or access token's is the provider) or a private key shows in
// the outputs or the token file.
func (pp *interopProfile) noKeyMaterial(client string, outs ...outcome) {
	pp.t.Helper()
	data, _ := os.ReadFile(pp.tokenFile())
	text := string(data)
	for _, o := range outs {
		text += o.stdout + o.stderr
	}
	if strings.Contains(text, "client_assertion") || strings.Contains(text, "PRIVATE KEY") {
		pp.t.Error("client_assertion or a private key in the output or the token file")
	}
	for _, jwt := range regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`).FindAllString(text, -1) {
		part := strings.Split(jwt, ".")[1]
		payload, _ := base64.RawURLEncoding.DecodeString(part)
		var claims struct{ Iss string }
		if json.Unmarshal(payload, &claims) == nil && claims.Iss == client {
			pp.t.Error("a client assertion in the output or the token file")
		}
	}
}

func nodeKeyClientCredentials(t *testing.T, bin string, ip *interopProvider, kind string) {
	pp := keyProfile(t, bin, ip, "client_credentials", oidcnode.JWTServiceClient, "private_key_jwt", kind, nil)
	o := pp.run("", "token")
	if o.code != 0 || strings.TrimSpace(o.stdout) == "" {
		t.Fatalf("token: %s", o)
	}
	o2 := pp.run("", "-v", "refresh", "--force")
	if o2.code != 0 {
		t.Fatalf("refresh --force (a second assertion, another jti): %s", o2)
	}
	pp.noKeyMaterial(oidcnode.JWTServiceClient, o2)
}

func nodeKeyLogin(t *testing.T, bin string, ip *interopProvider) {
	pp := keyProfile(t, bin, ip, "authorization_code", oidcnode.JWTClient, "private_key_jwt", "rsa",
		map[string]any{"authParams": ip.authParams})
	pp.login()
	first := pp.token().RefreshToken
	var outs []outcome
	for range 2 {
		o := pp.run("", "refresh", "--force")
		if o.code != 0 {
			t.Fatalf("refresh with an assertion: %s", o)
		}
		outs = append(outs, o)
	}
	rt := pp.token().RefreshToken
	if rt == first {
		t.Error("the refresh token did not rotate: were the refreshes made?")
	}
	o := pp.run("", "logout")
	if o.code != 0 || !strings.Contains(o.stderr, "revoked the refresh token") {
		t.Fatalf("logout (revocation with an assertion): %s", o)
	}
	if ip.live(rt) {
		t.Error("the provider still accepts the refresh token after logout")
	}
	pp.noKeyMaterial(oidcnode.JWTClient, append(outs, o)...)
}

// A client that presents a self-signed certificate (RFC 8705 §2.2): the
// token request goes to the discovery document's mtls_endpoint_aliases, an
// https listener that asks for the certificate.
func nodeSelfSignedTLS(t *testing.T, bin string, ip *interopProvider, clientCert, serverCert []byte) {
	pp := keyProfile(t, bin, ip, "client_credentials", oidcnode.MTLSServiceClient, "self_signed_tls_client_auth", "p256",
		map[string]any{"clientCert": "client.crt", "clientKeyID": nil})
	certFile := filepath.Join(t.TempDir(), "server.pem")
	doc := ip.discover(t)
	aliases, _ := doc["mtls_endpoint_aliases"].(map[string]any)
	alias, _ := aliases["token_endpoint"].(string)
	if !strings.HasPrefix(alias, "https://") {
		t.Fatalf("no https mtls_endpoint_aliases token_endpoint in the document: %v", doc["mtls_endpoint_aliases"])
	}
	// The https listener's certificate is what the binary trusts.
	if err := os.WriteFile(certFile, serverCert, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) outcome {
		cmd := pp.cmd("", args...)
		cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+certFile)
		return runAll(t, []*exec.Cmd{cmd})[0]
	}
	// The registered certificate under another name: a certificate of the
	// same key that was not registered is refused by the provider.
	os.WriteFile(filepath.Join(pp.dir, "client.crt"), testkeys.SelfSigned(testkeys.Key("p256"), "unregistered"), 0o644)
	if o := run("token"); o.code != exitConfig || !strings.Contains(o.stderr, "invalid_client") {
		t.Fatalf("an unregistered certificate: %s, want 78 invalid_client", o)
	}
	os.WriteFile(filepath.Join(pp.dir, "registered.crt"), clientCert, 0o644)
	pp.editCreds(map[string]any{"clientCert": "registered.crt"})
	o := run("token")
	if o.code != 0 || strings.TrimSpace(o.stdout) == "" {
		t.Fatalf("token over mutual TLS: %s", o)
	}
	if got := pp.token().TokenURL; got != alias {
		t.Errorf("token_url %q, want the mTLS alias %q", got, alias)
	}
	pp.noKeyMaterial(oidcnode.MTLSServiceClient, o)
}

// editCreds changes fields of the profile's credentials.json.
func (pp *interopProfile) editCreds(fields map[string]any) {
	pp.t.Helper()
	path := filepath.Join(pp.dir, "credentials.json")
	data, err := os.ReadFile(path)
	if err != nil {
		pp.t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		pp.t.Fatal(err)
	}
	maps.Copy(c, fields)
	data, _ = json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		pp.t.Fatal(err)
	}
}

// zitadel's op takes private_key_jwt for the code and refresh grants (its
// client credentials grant takes a secret only) and wants its issuer in
// aud; it verifies ES256 with go-jose.
func zitadelKeyLogin(t *testing.T, bin string) {
	p := oidcprovider.Start(t, oidcprovider.Options{ClientKey: testkeys.Key("p256").Public(), ClientKeyID: "p256"})
	ip := &interopProvider{name: "zitadel-op", issuer: p.Issuer, client: p.ClientID, username: p.Username,
		refreshUses: p.RefreshUses, live: p.RefreshTokenLive}
	pp := keyProfile(t, bin, ip, "authorization_code", p.ClientID, "private_key_jwt", "p256", nil)
	pp.login()
	first := pp.token().RefreshToken
	o := pp.run("", "refresh", "--force")
	if o.code != 0 {
		t.Fatalf("refresh with an assertion: %s", o)
	}
	if pp.token().RefreshToken == first || p.RefreshUses()[first] != 1 {
		t.Errorf("the refresh was not made with the refresh token (uses %v)", p.RefreshUses())
	}
	pp.noKeyMaterial(p.ClientID, o)
	// A key the provider does not know is refused: the assertion is
	// checked. op answers a refresh whose client it cannot authenticate with
	// invalid_grant, which reads as a dead grant (docs/providers.md).
	os.WriteFile(filepath.Join(pp.dir, "client.key"), testkeys.PEM(testkeys.Key("rsa")), 0o600)
	if o := pp.run("", "refresh", "--force"); o.code != exitNeedsHuman || !strings.Contains(o.stderr, "invalid signature") {
		t.Errorf("refresh with another key: %s, want 77 (op's invalid_grant)", o)
	}
}
