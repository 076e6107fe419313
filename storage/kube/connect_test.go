package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(t *testing.T, path, s string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const kcTemplate = `apiVersion: v1
kind: Config
current-context: CTX
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.pem
contexts:
- name: ctx1
  context: {cluster: c1, user: u1, namespace: apps}
- name: ctx2
  context: {cluster: c1, user: u2}
users:
- name: u1
  user:
    token: tok-1
- name: u2
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: tokenkeeper
`

func TestKubeconfig(t *testing.T) {
	certs := etcdtest.NewCerts(t)
	ca, _ := os.ReadFile(certs.CA)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "ca.pem"), string(ca))
	good := writeFile(t, filepath.Join(dir, "config"), strings.Replace(kcTemplate, "CTX", "ctx1", 1))
	c, err := Connect(env(map[string]string{"KUBECONFIG": good}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != "https://127.0.0.1:6443" || c.Token != "tok-1" || c.TLS.RootCAs == nil || !strings.Contains(c.Source, "ctx1") {
		t.Errorf("got %+v", c)
	}
	// ~/.kube/config when KUBECONFIG is unset.
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".kube", "ca.pem"), string(ca))
	writeFile(t, filepath.Join(home, ".kube", "config"), strings.Replace(kcTemplate, "CTX", "ctx1", 1))
	if c, err := Connect(env(nil), home); err != nil || c.Token != "tok-1" {
		t.Errorf("~/.kube/config: %+v, %v", c, err)
	}
	// A list: the first file that sets current-context wins; a missing one is skipped.
	other := writeFile(t, filepath.Join(dir, "other"), "current-context: ctx2\n")
	if c, err := Connect(env(map[string]string{"KUBECONFIG": filepath.Join(dir, "missing") + string(filepath.ListSeparator) + good + string(filepath.ListSeparator) + other}), ""); err != nil || c.Token != "tok-1" {
		t.Errorf("list: %+v, %v", c, err)
	}
	// An exec plugin is refused, saying so, as a configuration error (78).
	ex := writeFile(t, filepath.Join(dir, "exec"), strings.Replace(kcTemplate, "CTX", "ctx2", 1))
	_, err = Connect(env(map[string]string{"KUBECONFIG": ex}), "")
	var ce *storage.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "exec plugin") {
		t.Errorf("exec user: got %v, want a ConfigError naming the exec plugin", err)
	}
	// CA data, a client certificate's files, insecure-skip-tls-verify refused, http refused.
	cert, _ := os.ReadFile(certs.ClientCert)
	key, _ := os.ReadFile(certs.ClientKey)
	data := `current-context: x
clusters: [{name: c, cluster: {server: "https://k.example:443/", certificate-authority-data: ` + base64.StdEncoding.EncodeToString(ca) + `}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
users: [{name: u, user: {client-certificate-data: ` + base64.StdEncoding.EncodeToString(cert) + `, client-key: key.pem}}]
`
	writeFile(t, filepath.Join(dir, "key.pem"), string(key))
	cc := writeFile(t, filepath.Join(dir, "certs"), data)
	if c, err := Connect(env(map[string]string{"KUBECONFIG": cc}), ""); err != nil || len(c.TLS.Certificates) != 1 || c.Server != "https://k.example:443" {
		t.Errorf("client certificate: %+v, %v", c, err)
	}
	for what, cfg := range map[string]string{
		"insecure-skip-tls-verify": strings.Replace(data, "certificate-authority-data:", "insecure-skip-tls-verify: true, x:", 1),
		"not https":                strings.Replace(data, "https://k.example:443/", "http://k.example", 1),
		"no current-context":       strings.Replace(data, "current-context: x", "", 1),
	} {
		f := writeFile(t, filepath.Join(dir, "bad"), cfg)
		if _, err := Connect(env(map[string]string{"KUBECONFIG": f}), ""); !errors.As(err, &ce) || !strings.Contains(err.Error(), what) {
			t.Errorf("%s: got %v", what, err)
		}
	}
	if _, err := Connect(env(map[string]string{"KUBECONFIG": filepath.Join(dir, "none")}), ""); !errors.As(err, &ce) {
		t.Errorf("no kubeconfig: got %v", err)
	}
}

func TestInCluster(t *testing.T) {
	certs := etcdtest.NewCerts(t)
	ca, _ := os.ReadFile(certs.CA)
	old := serviceAccountDir
	serviceAccountDir = t.TempDir()
	t.Cleanup(func() { serviceAccountDir = old })
	writeFile(t, filepath.Join(serviceAccountDir, "ca.crt"), string(ca))
	pod := map[string]string{"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
	c, err := Connect(env(pod), "/nonexistent-home")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != "https://[fd00::1]:443" || c.TokenFile != filepath.Join(serviceAccountDir, "token") || c.Source != "in-cluster" {
		t.Errorf("got %+v", c)
	}
	// A KUBECONFIG the pod sets is meant: it wins, as with kubectl.
	pod["KUBECONFIG"] = filepath.Join(t.TempDir(), "none")
	if _, err := Connect(env(pod), ""); err == nil || !strings.Contains(err.Error(), "no kubeconfig") {
		t.Errorf("in a pod with KUBECONFIG: got %v, want the kubeconfig's error", err)
	}
}

// FuzzKubeconfig: any bytes as a kubeconfig file give a connection or an
// error, never a panic, and never an http:// server.
func FuzzKubeconfig(f *testing.F) {
	f.Add([]byte(strings.Replace(kcTemplate, "CTX", "ctx1", 1)))
	f.Add([]byte(strings.Replace(kcTemplate, "CTX", "ctx2", 1)))
	f.Add([]byte("current-context: a\ncontexts: [{name: a, context: {cluster: b}}]\nclusters: [{name: b, cluster: {server: 'https://x'}}]\n"))
	f.Add([]byte(`{"current-context":"a","contexts":[{"name":"a","context":{"cluster":"b","user":"c"}}],"users":[{"name":"c","user":{"tokenFile":"t"}}]}`))
	f.Add([]byte("a: &x [*x, *x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "config")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := fromKubeconfig([]string{p})
		if err == nil && !strings.HasPrefix(c.Server, "https://") {
			t.Fatalf("server %q accepted", c.Server)
		}
	})
}

// TestTokenFileRotates: a token file (the pod's service account token) is
// read again for every request, so that the kubelet's rotation is followed.
func TestTokenFileRotates(t *testing.T) {
	var got []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"metadata":{"name":"tokenkeeper-p","resourceVersion":"1"},"data":{}}`))
	}))
	defer srv.Close()
	// The kubelet's layout: token → ..data/token, ..data → a dated
	// directory; a rotation writes a new directory and swaps ..data.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "..2026_12_07_1", "token"), "first\n")
	if err := os.Symlink("..2026_12_07_1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.Symlink(filepath.Join("..data", "token"), tokenFile); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := NewClient(Config{Namespace: "apps", Prefix: "tokenkeeper"}, func() (*Conn, error) {
		return &Conn{Server: srv.URL, TokenFile: tokenFile, TLS: &tls.Config{RootCAs: pool}}, nil
	})
	defer c.Close()
	ctx := context.Background()
	if _, err := c.getSecret(ctx, "tokenkeeper-p"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "..2026_12_07_2", "token"), "second")
	if err := os.Symlink("..2026_12_07_2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.getSecret(ctx, "tokenkeeper-p"); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "Bearer first" || got[1] != "Bearer second" {
		t.Errorf("Authorization headers: %q, want the file's token each time", got)
	}
}

// A kubeconfig may name more entries than 1<<16 within its 1 MiB: the one
// the context names is the one used, and nothing panics.
func TestKubeconfigManyEntries(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"current-context":"x","contexts":[{"name":"x","context":{"cluster":"want"}}],"clusters":[`)
	for i := 0; i < 70000; i++ {
		b.WriteString(`{"name":""},`)
	}
	b.WriteString(`{"name":"want","cluster":{"server":"https://want.example"}}]}`)
	f := writeFile(t, filepath.Join(t.TempDir(), "config.json"), b.String())
	c, err := Connect(env(map[string]string{"KUBECONFIG": f}), "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server != "https://want.example" {
		t.Fatalf("server %q, want https://want.example", c.Server)
	}
}
