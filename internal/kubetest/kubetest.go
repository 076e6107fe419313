// Package kubetest starts a real kube-apiserver, over Debian's etcd
// (internal/etcdtest), on loopback ports in temporary directories, for the
// Kubernetes store's tests. The binary is built once, by
// .ci/kube-apiserver.sh, into the user's cache directory, at the version
// internal/kubetest/apiserver/go.mod pins (a module of its own: k8s.io/kubernetes
// never enters tokenkeeper's go.mod). Tests that need one skip, naming that
// script, when it has not been built.
//
// The helper speaks the API server's REST API with net/http alone, as the
// store does: no client-go.
package kubetest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
)

// BinaryEnv names a kube-apiserver binary to use instead of the cached one.
const BinaryEnv = "TOKENKEEPER_KUBE_APISERVER"

// Version is the kube-apiserver version internal/kubetest/apiserver/go.mod
// requires ("v1.32.13"); "" if it cannot be read.
func Version() string {
	_, self, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(self), "apiserver", "go.mod"))
	if err != nil {
		return ""
	}
	m := regexp.MustCompile(`(?m)^(?:require\s+|\s+)k8s\.io/kubernetes\s+(v\S+)`).FindSubmatch(b)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// Binary returns the kube-apiserver's path, or skips the test naming the
// step that builds it.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(BinaryEnv); p != "" {
		return p
	}
	v := Version()
	cache, err := os.UserCacheDir()
	if v == "" || err != nil {
		t.Skipf("kube-apiserver: no version in internal/kubetest/apiserver/go.mod or no cache directory (%v)", err)
	}
	p := filepath.Join(cache, "tokenkeeper-kube", "kube-apiserver-"+v)
	if fi, err := os.Stat(p); err != nil || fi.Mode()&0o111 == 0 {
		t.Skipf("kube-apiserver %s not built at %s: run bash .ci/kube-apiserver.sh (once, several minutes; .ci/run does) to run the Kubernetes store's tests", v, p)
	}
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Skip("etcd not found: install Debian's etcd-server (apt-get install -y etcd-server) to run the Kubernetes store's tests")
	}
	return p
}

// Server is one running kube-apiserver and its etcd.
type Server struct {
	URL        string // https://127.0.0.1:PORT
	CAFile     string // PEM of the authority that signed the serving certificate
	AdminToken string // a bearer token of a member of system:masters

	bin, dir string
	args     []string
	etcd     *etcdtest.Cluster
	cmd      *exec.Cmd
	log      *os.File
	hc       *http.Client
	t        testing.TB
}

// Start starts etcd and a kube-apiserver on loopback and waits until
// /readyz answers ok. Both are killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	ec := etcdtest.Start(t, 1)
	dir := t.TempDir()
	certs := etcdtest.NewCerts(t)
	s := &Server{CAFile: certs.CA, AdminToken: randHex(t), bin: bin, dir: dir, etcd: ec, t: t}
	addr := etcdtest.FreeAddr(t)
	s.URL = "https://" + addr
	_, port, _ := strings.Cut(addr, ":")

	tokens := filepath.Join(dir, "tokens.csv")
	write(t, tokens, []byte(s.AdminToken+`,admin,admin-uid,"system:masters"`+"\n"))
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	pb, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	saKey, saPub := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	write(t, saKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	write(t, saPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pb}))

	s.args = []string{
		"--etcd-servers", ec.Members[0].ClientURL,
		"--etcd-prefix", "/registry",
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", port,
		"--tls-cert-file", certs.ServerCert, "--tls-private-key-file", certs.ServerKey,
		"--cert-dir", filepath.Join(dir, "certs"),
		"--token-auth-file", tokens,
		"--authorization-mode", "RBAC",
		"--anonymous-auth=false",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saPub,
		"--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--endpoint-reconciler-type", "none",
		"--profiling=false",
		// What a test needs no part of: fewer controllers on a small machine.
		"--enable-priority-and-fairness=false",
	}
	s.hc = s.client()
	s.start()
	t.Cleanup(s.Kill)
	s.waitReady()
	return s
}

func (s *Server) start() {
	s.t.Helper()
	log, err := os.OpenFile(filepath.Join(s.dir, "kube-apiserver.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	s.log = log
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("kubetest: start kube-apiserver: %v", err)
	}
}

// With is the server for another test than the one that started it (its
// helpers fail that test): one server can serve a package's tests, each in
// a namespace of its own.
func (s *Server) With(t testing.TB) *Server {
	c := *s
	c.t = t
	return &c
}

// Kill stops the kube-apiserver at once (SIGKILL); etcd goes on.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
	s.log.Close()
}

// Log is the end of the kube-apiserver's log, for a failing test's message.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "kube-apiserver.log"))
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}

func (s *Server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if s.cmd.ProcessState != nil {
			break
		}
		if code, _ := s.Do("GET", "/readyz", nil); code == http.StatusOK {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("kubetest: kube-apiserver not ready after 90 s:\n%s", s.Log())
}

func (s *Server) client() *http.Client {
	pool := x509.NewCertPool()
	b, err := os.ReadFile(s.CAFile)
	if err != nil {
		s.t.Fatal(err)
	}
	pool.AppendCertsFromPEM(b)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = pool
	tr.Proxy = nil
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// Do sends one request as the admin; body, when not nil, is sent as JSON.
// It returns the status and the body; a transport error is status 0.
func (s *Server) Do(method, path string, body any) (int, []byte) {
	return s.DoAs(s.AdminToken, method, path, body)
}

// DoAs is Do with another bearer token.
func (s *Server) DoAs(token, method, path string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if method == http.MethodPatch {
			req.Header.Set("Content-Type", "application/merge-patch+json")
		}
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, b
}

// Must is Do, failing the test unless the status is one of ok (200 and 201
// when none is given).
func (s *Server) Must(method, path string, body any, ok ...int) []byte {
	s.t.Helper()
	if len(ok) == 0 {
		ok = []int{http.StatusOK, http.StatusCreated}
	}
	code, b := s.Do(method, path, body)
	for _, c := range ok {
		if code == c {
			return b
		}
	}
	s.t.Fatalf("kubetest: %s %s: %d %s", method, path, code, b)
	return nil
}

// Namespace creates a namespace (an existing one is fine).
func (s *Server) Namespace(name string) {
	s.t.Helper()
	s.Must("POST", "/api/v1/namespaces", map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name},
	}, http.StatusCreated, http.StatusConflict)
}

// Rule is one rule of a Role.
type Rule struct {
	APIGroups     []string `json:"apiGroups"`
	Resources     []string `json:"resources"`
	ResourceNames []string `json:"resourceNames,omitempty"`
	Verbs         []string `json:"verbs"`
}

// ServiceAccount creates, in namespace ns, the service account name, a Role
// of the same name with rules and its RoleBinding, and returns a token of
// the account (the TokenRequest API, one hour).
func (s *Server) ServiceAccount(ns, name string, rules []Rule) string {
	s.t.Helper()
	s.Namespace(ns)
	meta := map[string]any{"name": name, "namespace": ns}
	s.Must("POST", "/api/v1/namespaces/"+ns+"/serviceaccounts", map[string]any{
		"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
	s.Must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/"+ns+"/roles", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules})
	s.Must("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/"+ns+"/rolebindings", map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
		"subjects": []any{map[string]any{"kind": "ServiceAccount", "name": name, "namespace": ns}},
	})
	b := s.Must("POST", "/api/v1/namespaces/"+ns+"/serviceaccounts/"+name+"/token", map[string]any{
		"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
		"spec": map[string]any{"expirationSeconds": 3600},
	})
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.Status.Token == "" {
		s.t.Fatalf("kubetest: token request: %v %s", err, b)
	}
	return tr.Status.Token
}

// Kubeconfig writes, at path, a kubeconfig whose current context reaches
// the server with token (the admin's when ""), in namespace ns, and
// returns path. It is YAML as kubectl writes it.
func (s *Server) Kubeconfig(path, token, ns string) string {
	s.t.Helper()
	if token == "" {
		token = s.AdminToken
	}
	if ns == "" {
		ns = "default"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		s.t.Fatal(err)
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: %s
    server: %s
  name: test
contexts:
- context:
    cluster: test
    namespace: %s
    user: tester
  name: test
current-context: test
preferences: {}
users:
- name: tester
  user:
    token: %s
`, s.CAFile, s.URL, ns, token)
	write(s.t, path, []byte(cfg))
	return path
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func randHex(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
