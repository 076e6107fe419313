package kube

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Conn is how to reach the API server and who to be there, found as kubectl
// finds it (Connect).
type Conn struct {
	Server    string // https://HOST:PORT, no trailing slash
	Source    string // where this came from, for messages: "in-cluster" or "kubeconfig FILE, context NAME"
	TLS       *tls.Config
	Token     string // a bearer token, or
	TokenFile string // a file holding one, read again for every request (it rotates)
}

// The service account's files in a pod (a variable for the tests).
var serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Connect finds the API server: the files of KUBECONFIG when it is set (a
// list, the first to set a value wins, as kubectl merges them: a pod that
// names one means it); else, in a pod (KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT set, as the kubelet sets them), its service
// account's token and CA; else ~/.kube/config. A kubeconfig is used at its
// current context. A kubeconfig whose user runs
// an exec credential plugin or an auth provider is refused with a
// *storage.ConfigError: running another program for a credential is out of
// this store's scope.
func Connect(getenv func(string) string, home string) (*Conn, error) {
	var files []string
	for _, f := range filepath.SplitList(getenv("KUBECONFIG")) {
		if f != "" {
			files = append(files, f)
		}
	}
	if host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT"); len(files) == 0 && host != "" && port != "" {
		return inCluster(host, port)
	}
	if len(files) == 0 && home != "" {
		files = []string{filepath.Join(home, ".kube", "config")}
	}
	if len(files) == 0 {
		return nil, &storage.ConfigError{Msg: "kubernetes: no API server: not in a pod (KUBERNETES_SERVICE_HOST unset) and no kubeconfig (KUBECONFIG unset, no home directory)",
			Hint: "set KUBECONFIG to a kubeconfig file, as for kubectl"}
	}
	return fromKubeconfig(files)
}

func inCluster(host, port string) (*Conn, error) {
	// What the kubelet sets is an IP address and a port; anything else
	// would fail every request as an API server that does not answer (75,
	// retried for ever), when it is the pod's environment to fix.
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || !validHost(host) {
		return nil, &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: in a pod, but KUBERNETES_SERVICE_HOST %q and KUBERNETES_SERVICE_PORT %q are no host and port", cut(host), cut(port)),
			Hint: "leave both as the kubelet sets them, or set KUBECONFIG to a kubeconfig file"}
	}
	ca := filepath.Join(serviceAccountDir, "ca.crt")
	tc, err := tlsWithCA(nil, ca)
	if err != nil {
		return nil, &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: in a pod, but the service account's CA: %v", err),
			Hint: "the pod needs its service account token mounted (automountServiceAccountToken: true)"}
	}
	return &Conn{Server: "https://" + net.JoinHostPort(host, port), Source: "in-cluster", TLS: tc,
		TokenFile: filepath.Join(serviceAccountDir, "token")}, nil
}

// validHost tells whether h is an IP address or a DNS name.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	return h != "" && len(h) <= 253 && strings.IndexFunc(h, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.')
	}) < 0
}

// kubeconfig is the part of a kubeconfig file (clientcmd's v1.Config) this
// store reads.
type kubeconfig struct {
	CurrentContext string `json:"current-context"`
	Clusters       []struct {
		Name    string `json:"name"`
		Cluster struct {
			Server                   string `json:"server"`
			CertificateAuthority     string `json:"certificate-authority"`
			CertificateAuthorityData string `json:"certificate-authority-data"`
			InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify"`
			TLSServerName            string `json:"tls-server-name"`
			ProxyURL                 string `json:"proxy-url"`
		} `json:"cluster"`
	} `json:"clusters"`
	Users []struct {
		Name string   `json:"name"`
		User kubeUser `json:"user"`
	} `json:"users"`
	Contexts []struct {
		Name    string `json:"name"`
		Context struct {
			Cluster string `json:"cluster"`
			User    string `json:"user"`
		} `json:"context"`
	} `json:"contexts"`
}

type kubeUser struct {
	Token                 string          `json:"token"`
	TokenFile             string          `json:"tokenFile"`
	ClientCertificate     string          `json:"client-certificate"`
	ClientCertificateData string          `json:"client-certificate-data"`
	ClientKey             string          `json:"client-key"`
	ClientKeyData         string          `json:"client-key-data"`
	Username              string          `json:"username"`
	Exec                  json.RawMessage `json:"exec"`
	AuthProvider          json.RawMessage `json:"auth-provider"`
}

// parseKubeconfig reads one kubeconfig file's YAML (or JSON): see
// decodeKubeconfig for what it reads.
func parseKubeconfig(data []byte) (*kubeconfig, error) {
	var kc kubeconfig
	if err := decodeKubeconfig(data, &kc); err != nil {
		return nil, err
	}
	return &kc, nil
}

// fromKubeconfig merges the files as kubectl does (the first file to name
// the current context, a cluster, a user or a context wins; a missing file
// of a KUBECONFIG list is skipped) and resolves the current context.
func fromKubeconfig(files []string) (*Conn, error) {
	// at is an entry's place: the file's index and the entry's in it (a
	// file of 1 MiB may hold more entries than any packing of both into
	// one int by a fixed shift would keep apart).
	type at struct{ file, i int }
	var (
		current  string
		clusters = map[string]at{}
		users    = map[string]at{}
		contexts = map[string]at{}
		parsed   []*kubeconfig
		dirs     []string
		read     []string
	)
	for _, f := range files {
		data, err := storage.ReadFile(f)
		var re *storage.RecordError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &re) && re.LinkToMissing() {
			continue // a missing file of the list is skipped, as kubectl does
		}
		if err != nil {
			return nil, &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: kubeconfig %s: %v", f, err), Err: err}
		}
		kc, err := parseKubeconfig(data)
		if err != nil {
			return nil, &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: kubeconfig %s: %v", f, err), Hint: jsonHint(f)}
		}
		read = append(read, f)
		i := len(parsed)
		parsed, dirs = append(parsed, kc), append(dirs, filepath.Dir(f))
		if current == "" {
			current = kc.CurrentContext
		}
		for j, c := range kc.Clusters {
			if _, ok := clusters[c.Name]; !ok {
				clusters[c.Name] = at{i, j}
			}
		}
		for j, u := range kc.Users {
			if _, ok := users[u.Name]; !ok {
				users[u.Name] = at{i, j}
			}
		}
		for j, c := range kc.Contexts {
			if _, ok := contexts[c.Name]; !ok {
				contexts[c.Name] = at{i, j}
			}
		}
	}
	where := strings.Join(files, string(filepath.ListSeparator))
	if len(read) == 0 {
		return nil, &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: no kubeconfig at %s, and not in a pod (KUBERNETES_SERVICE_HOST unset)", where),
			Hint: "set KUBECONFIG to a kubeconfig file, as for kubectl"}
	}
	if current == "" {
		return nil, &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: kubeconfig %s: no current-context", where), Hint: "choose one: kubectl config use-context NAME"}
	}
	ci, ok := contexts[current]
	if !ok {
		return nil, &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: kubeconfig %s: current context %q is not defined", where, cut(current)), Hint: "choose one: kubectl config use-context NAME"}
	}
	ctx := parsed[ci.file].Contexts[ci.i].Context
	cl, ok := clusters[ctx.Cluster]
	if !ok {
		return nil, &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: kubeconfig %s: context %q names cluster %q, which is not defined", where, cut(current), cut(ctx.Cluster))}
	}
	cluster := parsed[cl.file].Clusters[cl.i].Cluster
	src := fmt.Sprintf("kubeconfig %s, context %s", where, cut(current))
	bad := func(msg, hint string) error {
		return &storage.ConfigError{Msg: "kubernetes: " + src + ": " + msg, Hint: hint}
	}
	u, err := url.Parse(cluster.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return nil, bad(fmt.Sprintf("cluster %q: server %q is not https://HOST[:PORT]", cut(ctx.Cluster), redact.URL(cluster.Server)),
			"the record, its refresh token included, is sent to the API server: it must be reached over TLS")
	}
	if cluster.InsecureSkipTLSVerify {
		return nil, bad(fmt.Sprintf("cluster %q: insecure-skip-tls-verify is not followed: the record would go to whoever answers", cut(ctx.Cluster)),
			"name the cluster's CA in the kubeconfig (certificate-authority or certificate-authority-data)")
	}
	if cluster.ProxyURL != "" {
		return nil, bad(fmt.Sprintf("cluster %q: proxy-url is not supported by this store", cut(ctx.Cluster)), "reach the API server directly")
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cluster.TLSServerName}
	switch {
	case cluster.CertificateAuthorityData != "":
		pem, err := base64.StdEncoding.DecodeString(cluster.CertificateAuthorityData)
		if err != nil {
			return nil, bad("certificate-authority-data is not base64", "")
		}
		if tc, err = tlsWithCA(tc, "", pem...); err != nil {
			return nil, bad("certificate-authority-data: "+err.Error(), "")
		}
	case cluster.CertificateAuthority != "":
		if tc, err = tlsWithCA(tc, abs(dirs[cl.file], cluster.CertificateAuthority)); err != nil {
			return nil, bad(err.Error(), fileHint(err))
		}
	}
	c := &Conn{Server: strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), Source: src, TLS: tc}
	if ctx.User == "" {
		return c, nil // a client certificate-less, token-less user: the server decides
	}
	un, ok := users[ctx.User]
	if !ok {
		return nil, bad(fmt.Sprintf("user %q is not defined", cut(ctx.User)), "")
	}
	user := parsed[un.file].Users[un.i].User
	switch {
	case len(user.Exec) > 0 && string(user.Exec) != "null":
		return nil, bad(fmt.Sprintf("user %q gets its credential from an exec plugin, which this store does not run", cut(ctx.User)),
			"give the store a kubeconfig (KUBECONFIG) whose user has a token, a token file or a client certificate, e.g. a service account's")
	case len(user.AuthProvider) > 0 && string(user.AuthProvider) != "null":
		return nil, bad(fmt.Sprintf("user %q uses an auth-provider, which this store does not run", cut(ctx.User)),
			"give the store a kubeconfig (KUBECONFIG) whose user has a token, a token file or a client certificate")
	case user.Username != "":
		return nil, bad(fmt.Sprintf("user %q has a username and password (basic authentication), which Kubernetes no longer accepts", cut(ctx.User)), "")
	}
	c.Token = user.Token
	if c.Token == "" && user.TokenFile != "" {
		c.TokenFile = abs(dirs[un.file], user.TokenFile)
	}
	var certPEM, keyPEM []byte
	for _, d := range []struct {
		data string
		out  *[]byte
	}{{user.ClientCertificateData, &certPEM}, {user.ClientKeyData, &keyPEM}} {
		if d.data == "" {
			continue
		}
		if *d.out, err = base64.StdEncoding.DecodeString(d.data); err != nil {
			return nil, bad(fmt.Sprintf("user %q: client-certificate-data or client-key-data is not base64", cut(ctx.User)), "")
		}
	}
	if user.ClientCertificate != "" && certPEM == nil {
		if certPEM, err = storage.ReadFile(abs(dirs[un.file], user.ClientCertificate)); err != nil {
			return nil, bad(fmt.Sprintf("user %q: client-certificate: %v", cut(ctx.User), err), fileHint(err))
		}
	}
	if user.ClientKey != "" && keyPEM == nil {
		if keyPEM, err = storage.ReadFile(abs(dirs[un.file], user.ClientKey)); err != nil {
			return nil, bad(fmt.Sprintf("user %q: client-key: %v", cut(ctx.User), err), fileHint(err))
		}
	}
	if certPEM != nil || keyPEM != nil {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// tls's message names no key material.
			return nil, bad(fmt.Sprintf("user %q: client certificate and key: %v", cut(ctx.User), err), "")
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// fileHint is what to do about a file named by a kubeconfig that could not
// be read: the store's hint for a file that is not a regular one (a FIFO, a
// dangling link), else none (the message names the file and the OS's words).
func fileHint(err error) string {
	var re *storage.RecordError
	if errors.As(err, &re) {
		return re.Hint
	}
	return ""
}

// jsonHint is how to turn kubeconfig f, when kubectl reads it, into JSON,
// which tokenkeeper reads as it is: kubectl's merged view of the same
// KUBECONFIG, with the credentials' files inlined (--flatten) and not
// redacted (--raw), written readable by the user only, since it holds them.
func jsonHint(f string) string {
	j := storage.ShellQuote(f + ".json")
	return "if kubectl reads it (kubectl config view), convert it to JSON and use that: (umask 077; kubectl config view --raw --flatten -o json > " + j + "); export KUBECONFIG=" + j
}

// abs resolves a kubeconfig's relative path against the directory of the
// file that holds it, as kubectl does.
func abs(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// tlsWithCA is tc (a fresh one when nil) trusting the PEM certificates of
// file, or of pem when file is "".
func tlsWithCA(tc *tls.Config, file string, pem ...byte) (*tls.Config, error) {
	if tc == nil {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if file != "" {
		var err error
		if pem, err = storage.ReadFile(file); err != nil {
			return nil, fmt.Errorf("certificate-authority %s: %w", file, err)
		}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("certificate-authority %s: no PEM certificate in it", file)
	}
	tc.RootCAs = pool
	return tc, nil
}
