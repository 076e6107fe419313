package cli

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/testkeys"
)

// TestMutualTLSBinary: a client_credentials profile authenticates with a
// self-signed client certificate over https (RFC 8705), through the binary:
// the fake endpoint accepts only a connection that presents the registered
// certificate, and takes no secret.
func TestMutualTLSBinary(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("SSL_CERT_FILE: Go reads the system's roots on Windows")
	}
	bin := tokenkeeperBinary(t)
	key := testkeys.Key("ed25519")
	certPEM := testkeys.SelfSigned(key, "tk-mtls")
	certs, _ := credentials.ParseCertificates(certPEM)
	fs := fakeserver.NewHandler(fakeserver.Options{ClientID: fakeClientID, ClientSecret: fakeClientSecret,
		ClientCert: certs[0], Style: fakeserver.StyleKeycloak})
	srv := httptest.NewUnstartedServer(fs)
	srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	roots := filepath.Join(dir, "roots.pem")
	write := func(name string, data []byte, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("roots.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	write("client.key", testkeys.PEM(key), 0o600)
	write("client.crt", certPEM, 0o644)
	creds, _ := json.Marshal(map[string]string{"tokenURL": srv.URL + "/token", "grantType": "client_credentials",
		"appID": fakeClientID, "clientAuth": "self_signed_tls_client_auth", "clientKey": "client.key", "clientCert": "client.crt"})
	write("credentials.json", creds, 0o600)
	run := func(args ...string) outcome {
		cmd := exec.Command(bin, append([]string{"--dir", dir}, args...)...)
		cmd.Env = append(cleanEnv(), "SSL_CERT_FILE="+roots, "HOME="+dir)
		return runAll(t, []*exec.Cmd{cmd})[0]
	}
	o := run("token")
	if o.code != 0 || strings.TrimSpace(o.stdout) == "" {
		t.Fatalf("token over mutual TLS: %s", o)
	}
	if f := fs.LastForm(); f.Get("client_id") != fakeClientID || f.Has("client_secret") || f.Has("client_assertion") {
		t.Errorf("the form carried more than client_id: %v", keysOf(f))
	}
	if o := run("refresh", "--force"); o.code != 0 {
		t.Fatalf("refresh --force over mutual TLS: %s", o)
	}
	if n := fs.Count("client_credentials"); n != 2 {
		t.Errorf("%d client_credentials grants, want 2", n)
	}
	// Another certificate of the same key is not the registered one.
	write("other.crt", testkeys.SelfSigned(key, "other"), 0o644)
	creds, _ = json.Marshal(map[string]string{"tokenURL": srv.URL + "/token", "grantType": "client_credentials",
		"appID": fakeClientID, "clientAuth": "self_signed_tls_client_auth", "clientKey": "client.key", "clientCert": "other.crt"})
	write("credentials.json", creds, 0o600)
	if o := run("refresh", "--force"); o.code != exitConfig || !strings.Contains(o.stderr, "invalid_client") {
		t.Errorf("another certificate: %s, want 78 invalid_client", o)
	}
	if strings.Contains(o.stdout+o.stderr, "PRIVATE KEY") {
		t.Error("key material in the output")
	}
}

func keysOf(m map[string][]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
