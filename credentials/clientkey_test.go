package credentials

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/testkeys"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// keyCreds is a client_credentials profile in dir that authenticates with
// the key file key.pem there, written with mode perm.
func keyCreds(t *testing.T, method string, key []byte, perm os.FileMode) *Credentials {
	t.Helper()
	dir := tempDir(t)
	if key != nil {
		writeKey(t, filepath.Join(dir, "key.pem"), key, perm)
	}
	c := complete(GrantClientCredentials)
	c.ClientSecret, c.ClientAuth, c.ClientKey, c.Path = "", method, "key.pem", filepath.Join(dir, FileName)
	return c
}

// writeKey writes a key file with mode perm; 0600 through storage, so that on
// Windows it has the user-only access list a private file gets there.
func writeKey(t *testing.T, path string, key []byte, perm os.FileMode) {
	t.Helper()
	if perm == 0o600 {
		if err := storage.WriteFile(path, key); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err := os.WriteFile(path, key, perm); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, perm)
}

func TestLoadClientKeyKinds(t *testing.T) {
	want := map[string]string{"rsa": "RS256", "p256": "ES256", "p384": "ES384", "ed25519": "EdDSA"}
	for _, kind := range testkeys.Kinds {
		t.Run(kind, func(t *testing.T) {
			c := keyCreds(t, AuthPrivateKeyJWT, testkeys.PEM(testkeys.Key(kind)), 0o600)
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			k, err := c.LoadClientKey()
			if err != nil {
				t.Fatal(err)
			}
			if k.Alg != want[kind] {
				t.Fatalf("alg %s, want %s", k.Alg, want[kind])
			}
		})
	}
}

func TestLoadClientKeyRefusals(t *testing.T) {
	good := testkeys.PEM(testkeys.Key("p256"))
	tests := []struct {
		name  string
		key   []byte
		perm  os.FileMode
		setup func(c *Credentials)
		field string
		want  string
	}{
		{"missing", nil, 0o600, nil, "clientKey", "no such file"},
		{"readable by others", good, 0o644, nil, "clientKey", "chmod 600"},
		{"not pem", []byte("hello"), 0o600, nil, "clientKey", "holds no PEM private key"},
		{"rsa 1024", testkeys.PEM(testkeys.Key("rsa1024")), 0o600, nil, "clientKey", "1024 bits, below 2048"},
		{"p521", testkeys.PEM(testkeys.Key("p521")), 0o600, nil, "clientKey", "unsupported key type"},
		{"encrypted", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), 0o600, nil, "clientKey", "encrypted"},
		{"two keys", append(append([]byte{}, good...), good...), 0o600, nil, "clientKey", "more than one"},
		{"cert of another key", good, 0o600, func(c *Credentials) {
			os.WriteFile(filepath.Join(filepath.Dir(c.Path), "cert.pem"), testkeys.SelfSigned(testkeys.Key("p384"), "x"), 0o644)
			c.ClientCert = "cert.pem"
		}, "clientCert", "not for the key"},
		{"cert not pem", good, 0o600, func(c *Credentials) {
			os.WriteFile(filepath.Join(filepath.Dir(c.Path), "cert.pem"), good, 0o644)
			c.ClientCert = "cert.pem"
		}, "clientCert", "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.perm&0o077 != 0 && !modeBitsTell {
				t.Skip("mode bits say nothing on Windows")
			}
			c := keyCreds(t, AuthTLS, tt.key, tt.perm)
			if c.ClientCert == "" {
				c.ClientAuth = AuthPrivateKeyJWT
			}
			if tt.setup != nil {
				tt.setup(c)
			}
			_, err := c.LoadClientKey()
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("got %v, want a *KeyError", err)
			}
			text := ke.Error() + " hint: " + ke.Hint
			if ke.Field != tt.field || !strings.Contains(text, tt.want) || !strings.Contains(ke.Error(), c.Path) {
				t.Fatalf("got %q (field %s), want %s and %q and %s", text, ke.Field, tt.field, tt.want, c.Path)
			}
			if strings.Contains(text, string(good[30:60])) {
				t.Fatalf("key material in %q", text)
			}
		})
	}
}

func TestLoadClientKeyLinkRefused(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	c := keyCreds(t, AuthPrivateKeyJWT, nil, 0)
	dir := filepath.Dir(c.Path)
	writeKey(t, filepath.Join(dir, "real.pem"), testkeys.PEM(testkeys.Key("p256")), 0o600)
	if err := os.Symlink(filepath.Join(dir, "real.pem"), filepath.Join(dir, "key.pem")); err != nil {
		t.Fatal(err)
	}
	_, err := c.LoadClientKey()
	var ke *KeyError
	if !errors.As(err, &ke) || !strings.Contains(ke.Msg, "link") {
		t.Fatalf("got %v, want a refused link", err)
	}
}

func TestValidateClientAuth(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Credentials)
		want   string // "" valid
	}{
		{"secret basic", func(c *Credentials) { c.ClientAuth = AuthSecretBasic }, ""},
		{"key jwt", func(c *Credentials) { c.ClientSecret, c.ClientAuth, c.ClientKey = "", AuthPrivateKeyJWT, "k.pem" }, ""},
		{"jwt without key", func(c *Credentials) { c.ClientSecret, c.ClientAuth = "", AuthPrivateKeyJWT }, `clientKey: required for clientAuth "private_key_jwt"`},
		{"tls without cert", func(c *Credentials) { c.ClientAuth, c.ClientKey = AuthTLS, "k.pem" }, `clientCert: required for clientAuth "tls_client_auth"`},
		{"typo", func(c *Credentials) { c.ClientAuth = "private_key_jtw" }, `did you mean "private_key_jwt"?`},
		{"case", func(c *Credentials) { c.ClientAuth = "Private_Key_JWT" }, `did you mean "private_key_jwt"?`},
		{"key without method", func(c *Credentials) { c.ClientKey = "k.pem" }, "clientAuth: not set, but clientKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := complete(GrantClientCredentials)
			tt.change(c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got %v, want valid", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSecretStyle(t *testing.T) {
	c := complete(GrantClientCredentials)
	if c.ClientAuth = AuthSecretBasic; c.SecretStyle() != AuthHeader {
		t.Fatalf("client_secret_basic: %s", c.SecretStyle())
	}
	c.AuthStyle = AuthHeader
	if c.ClientAuth = AuthSecretPost; c.SecretStyle() != AuthParams {
		t.Fatalf("client_secret_post: %s", c.SecretStyle())
	}
}

// FuzzParsePrivateKey: outside input never panics, and an accepted key has
// an algorithm.
func FuzzParsePrivateKey(f *testing.F) {
	for _, kind := range append(append([]string{}, testkeys.Kinds...), "rsa1024") {
		f.Add(testkeys.PEM(testkeys.Key(kind)))
	}
	f.Add([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, alg, err := ParsePrivateKey(data)
		if err == nil && (s == nil || alg == "") {
			t.Fatalf("accepted a key with no signer or algorithm")
		}
	})
}

// FuzzParseCertificates: never panics; an accepted chain is not empty.
func FuzzParseCertificates(f *testing.F) {
	f.Add(testkeys.SelfSigned(testkeys.Key("p256"), "seed"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err == nil && len(certs) == 0 {
			t.Fatal("accepted an empty chain")
		}
	})
}
