package refresh

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/testkeys"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// TestAssertionSignature: every key kind signs an assertion that its public
// key verifies, with the claims RFC 7523 §3 asks for. ECDSA signatures are R
// and S fixed width, never ASN.1.
func TestAssertionSignature(t *testing.T) {
	for _, kind := range testkeys.Kinds {
		t.Run(kind, func(t *testing.T) {
			key := testkeys.Key(kind)
			signer, alg, err := credentials.ParsePrivateKey(testkeys.PEM(key))
			if err != nil {
				t.Fatal(err)
			}
			leaf, _ := credentials.ParseCertificates(testkeys.SelfSigned(key, "c"))
			a := &ClientAuth{Method: credentials.AuthPrivateKeyJWT, Issuer: "https://issuer.example",
				Key: &credentials.ClientKey{Signer: signer, Alg: alg, KeyID: "k1", Leaf: leaf[0]}}
			const endpoint = "https://issuer.example/token"
			jwt, err := a.Assertion("client-1", endpoint)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(jwt, ".")
			if len(parts) != 3 {
				t.Fatalf("%d parts", len(parts))
			}
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			if err := fakeserver.VerifyJWS(key.Public(), alg, []byte(parts[0]+"."+parts[1]), sig); err != nil {
				t.Fatalf("does not verify: %v", err)
			}
			if ec, ok := key.Public().(*ecdsa.PublicKey); ok {
				if want := 2 * ((ec.Curve.Params().BitSize + 7) / 8); len(sig) != want {
					t.Fatalf("ECDSA signature of %d bytes, want R||S of %d", len(sig), want)
				}
			}
			var h map[string]string
			var c struct {
				Iss, Sub, Jti string
				Aud           []string
				Iat, Nbf, Exp int64
			}
			decode(t, parts[0], &h)
			decode(t, parts[1], &c)
			s256 := sha256.Sum256(leaf[0].Raw)
			if h["alg"] != alg || h["kid"] != "k1" || h["x5t#S256"] != base64.RawURLEncoding.EncodeToString(s256[:]) || h["x5t"] == "" {
				t.Fatalf("header %v", h)
			}
			if c.Iss != "client-1" || c.Sub != "client-1" || c.Jti == "" || len(c.Aud) != 2 || c.Aud[0] != endpoint || c.Aud[1] != "https://issuer.example" {
				t.Fatalf("claims %+v", c)
			}
			if life := time.Duration(c.Exp-c.Iat) * time.Second; life <= 0 || life > 5*time.Minute || c.Nbf != c.Iat {
				t.Fatalf("lifetime %s (iat %d nbf %d exp %d)", life, c.Iat, c.Nbf, c.Exp)
			}
			again, _ := a.Assertion("client-1", endpoint)
			var c2 struct{ Jti string }
			decode(t, strings.Split(again, ".")[1], &c2)
			if c2.Jti == c.Jti {
				t.Fatal("two assertions share a jti")
			}
		})
	}
}

func decode(t *testing.T, part string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

// keyFiles writes key (and its certificate, with cert) beside the
// credentials and points them there.
func keyFiles(t *testing.T, c *credentials.Credentials, method, kind string, cert bool) {
	t.Helper()
	dir := filepath.Dir(c.Path)
	os.MkdirAll(dir, 0o700)
	// Through storage: on Windows a private file's access list is the user's alone.
	if err := storage.WriteFile(filepath.Join(dir, "client.key"), testkeys.PEM(testkeys.Key(kind))); err != nil {
		t.Fatal(err)
	}
	c.ClientSecret, c.ClientAuth, c.ClientKey = "", method, "client.key"
	if cert {
		os.WriteFile(filepath.Join(dir, "client.crt"), testkeys.SelfSigned(testkeys.Key(kind), "tk"), 0o644)
		c.ClientCert = "client.crt"
	}
}

// TestManagerPrivateKeyJWT: a bootstrap, then a refresh, each with a
// fresh assertion the endpoint verifies (signature, aud, exp, a jti it has
// not seen), and never a secret.
func TestManagerPrivateKeyJWT(t *testing.T) {
	for _, kind := range testkeys.Kinds {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, fakeserver.Options{ClientKey: testkeys.Key(kind).Public()}, nil)
			keyFiles(t, e.creds, credentials.AuthPrivateKeyJWT, kind, false)
			e.mustEnsure(t, Options{}, ActionBootstrapped)
			first := e.fs.LastForm()
			if first.Has("client_secret") || first.Get("client_assertion_type") != AssertionType || first.Get("client_id") != testClientID {
				t.Fatalf("form keys %v", keys(first))
			}
			e.clock.Add(2 * time.Hour)
			e.mustEnsure(t, Options{}, ActionRefreshed)
			if e.fs.LastForm().Get("client_assertion") == first.Get("client_assertion") {
				t.Fatal("an assertion was sent twice")
			}
		})
	}
}

// TestManagerMutualTLS: the client presents its certificate over TLS, with
// client_id in the form and no secret; the client's other properties (its
// root CAs here) are kept.
func TestManagerMutualTLS(t *testing.T) {
	key := testkeys.Key("p256")
	certs, _ := credentials.ParseCertificates(testkeys.SelfSigned(key, "tk"))
	fs := fakeserver.NewHandler(fakeserver.Options{ClientID: testClientID, ClientSecret: testClientSecret,
		ClientCert: certs[0], Style: fakeserver.StyleKeycloak})
	srv := httptest.NewUnstartedServer(fs)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	e := newEnv(t, fakeserver.Options{}, func(c *credentials.Credentials) {
		c.GrantType, c.TokenURL = credentials.GrantClientCredentials, srv.URL+"/token"
	})
	e.m.Client.HTTP = srv.Client()
	dir := filepath.Dir(e.creds.Path)
	os.MkdirAll(dir, 0o700)
	if err := storage.WriteFile(filepath.Join(dir, "client.key"), testkeys.PEM(key)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "client.crt"), testkeys.SelfSigned(key, "other"), 0o644)
	e.creds.ClientSecret, e.creds.ClientAuth, e.creds.ClientKey, e.creds.ClientCert = "", credentials.AuthSelfSignedTLS, "client.key", "client.crt"
	// Another certificate of the same key is not the registered one.
	if _, err := e.m.Ensure(t.Context(), Options{}); KindOf(err) != KindCredentials {
		t.Fatalf("another certificate: got %v, want invalid_client", err)
	}
	// The registered one, under another name: changed credentials are
	// tried again (a file changed in place needs a retry; docs/providers.md).
	os.WriteFile(filepath.Join(dir, "client2.crt"), pemOf(certs[0]), 0o644)
	e.creds.ClientCert = "client2.crt"
	e.m = testManager(e.creds, e.paths, e.clock, &Client{HTTP: srv.Client(), Clock: e.clock})
	if r, err := e.m.Ensure(t.Context(), Options{}); err != nil || r.Action != ActionBootstrapped {
		t.Fatalf("got %v, %v", r, err)
	}
	if f := fs.LastForm(); f.Has("client_secret") || f.Has("client_assertion") || f.Get("client_id") != testClientID {
		t.Fatalf("form keys %v", keys(f))
	}
}

func pemOf(c *x509.Certificate) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString(c.Raw) + "\n-----END CERTIFICATE-----\n")
}

// TestDiscoveryOffers: a method the provider's document does not list is
// the credentials' problem, before any token request.
func TestDiscoveryOffers(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Style: fakeserver.StyleKeycloak}, func(c *credentials.Credentials) {
		c.GrantType, c.TokenURL = credentials.GrantClientCredentials, ""
	})
	e.creds.Issuer = e.fs.URL()
	keyFiles(t, e.creds, credentials.AuthPrivateKeyJWT, "p256", false)
	_, err := e.m.Ensure(t.Context(), Options{})
	if KindOf(err) != KindCredentials || !strings.Contains(err.Error(), "does not offer clientAuth private_key_jwt") {
		t.Fatalf("got %v", err)
	}
	if n := e.fs.Count(""); n != 0 {
		t.Fatalf("%d token requests", n)
	}
}

// TestDeviceAndRevokeAssertions: the device authorization request, every
// poll and the revocation carry their own assertion, with the endpoint
// asked as aud and a jti never used before.
func TestDeviceAndRevokeAssertions(t *testing.T) {
	key := testkeys.Key("ed25519")
	seen := map[string]bool{}
	var mu sync.Mutex
	polls := 0
	var srvURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		jwt := r.Form.Get("client_assertion")
		parts := strings.Split(jwt, ".")
		var c struct{ Jti, Aud string }
		if len(parts) == 3 {
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			if err := fakeserver.VerifyJWS(key.Public(), "EdDSA", []byte(parts[0]+"."+parts[1]), sig); err != nil {
				t.Errorf("%s: %v", r.URL.Path, err)
			}
			decode(t, parts[1], &c)
		}
		mu.Lock()
		defer mu.Unlock()
		if r.Form.Has("client_secret") || c.Jti == "" || seen[c.Jti] || c.Aud != srvURL+r.URL.Path {
			t.Errorf("%s: jti %q (seen %v), aud %q, secret %v", r.URL.Path, c.Jti, seen[c.Jti], c.Aud, r.Form.Has("client_secret"))
		}
		seen[c.Jti] = true
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/device":
			w.Write([]byte(`{"device_code":"dc-1","user_code":"WXYZ","verification_uri":"https://x/activate","expires_in":600,"interval":1}`))
		case "/revoke":
			w.Write([]byte(`{}`))
		default:
			if polls++; polls < 3 {
				w.WriteHeader(http.StatusBadRequest)
				w.Write([]byte(`{"error":"authorization_pending"}`))
				return
			}
			w.Write([]byte(`{"access_token":"at-1","token_type":"bearer","expires_in":3600,"refresh_token":"rt-1"}`))
		}
	}))
	defer srv.Close()
	srvURL = srv.URL
	signer, alg, _ := credentials.ParsePrivateKey(testkeys.PEM(key))
	cfg := LoginConfig{ClientID: "app", Auth: &ClientAuth{Method: credentials.AuthPrivateKeyJWT, Key: &credentials.ClientKey{Signer: signer, Alg: alg}},
		Endpoints: Endpoints{Token: srv.URL + "/token", DeviceAuthorization: srv.URL + "/device", Revocation: srv.URL + "/revoke"}}
	c := &Client{Sleep: func(context.Context, time.Duration) error { return nil }}
	if _, err := c.Device(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(t.Context(), cfg, "rt-1", ""); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 5 {
		t.Fatalf("%d assertions, want 5 (device, three polls, revocation)", len(seen))
	}
}

// TestTokenSourceWithKey: the library's TokenSource over a Manager whose
// client authenticates with a key.
func TestTokenSourceWithKey(t *testing.T) {
	e := newEnv(t, fakeserver.Options{ClientKey: testkeys.Key("rsa").Public()}, nil)
	keyFiles(t, e.creds, credentials.AuthPrivateKeyJWT, "rsa", false)
	tok, err := e.m.TokenSource().Token()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("got %v, %v", tok, err)
	}
}

// TestOffersMessageBounded: a discovery document that lists thousands of
// methods (or one very long one) still gives a one-line message.
func TestOffersMessageBounded(t *testing.T) {
	var methods []string
	for i := range 5000 {
		methods = append(methods, fmt.Sprintf("method_%d_%s", i, strings.Repeat("x", 100)))
	}
	c := &credentials.Credentials{Issuer: "https://id.example.com", ClientAuth: credentials.AuthPrivateKeyJWT, Path: "/cfg/credentials.json"}
	err := offers(&Endpoints{AuthMethods: methods}, c)
	if err == nil || len(err.Error()) > 2000 || !strings.Contains(err.Error(), "(5000 in all)") {
		t.Fatalf("offers: %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
}
