// Package etcdtest starts real etcd members (Debian's etcd-server binary,
// /usr/bin/etcd) on loopback ports in temporary directories, for tests.
// Tests that need one skip, naming the package to install, when the binary
// is absent.
package etcdtest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Member is one running etcd process.
type Member struct {
	Name      string
	ClientURL string // http://127.0.0.1:PORT
	peerURL   string
	dir       string
	cluster   string
	certs     *Certs
	cmd       *exec.Cmd
	log       *os.File
	t         testing.TB
}

// Cluster is a set of members started together.
type Cluster struct {
	Members []*Member
}

// Binary returns the etcd binary's path, or skips the test.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not found: install Debian's etcd-server (apt-get install -y etcd-server) to run the etcd store's tests")
	}
	return p
}

// Start starts an n-member cluster and waits until it serves requests. The
// members are killed when the test ends.
func Start(t testing.TB, n int) *Cluster {
	t.Helper()
	return StartTLS(t, n, nil)
}

// StartTLS is Start with the client port on HTTPS with certs' server
// certificate, requiring client certificates signed by its CA; nil certs
// is plain HTTP.
func StartTLS(t testing.TB, n int, certs *Certs) *Cluster {
	t.Helper()
	bin := Binary(t)
	c := &Cluster{}
	var peers []string
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i), dir: t.TempDir(), t: t, certs: certs}
		m.ClientURL = "http://" + freeAddr(t)
		if certs != nil {
			m.ClientURL = "https://" + strings.TrimPrefix(m.ClientURL, "http://")
		}
		m.peerURL = "http://" + freeAddr(t)
		peers = append(peers, m.Name+"="+m.peerURL)
		c.Members = append(c.Members, m)
	}
	for _, m := range c.Members {
		m.cluster = strings.Join(peers, ",")
		m.start(bin)
	}
	t.Cleanup(func() {
		for _, m := range c.Members {
			m.Kill()
		}
	})
	for _, m := range c.Members {
		m.waitHealthy()
	}
	return c
}

func (m *Member) start(bin string) {
	m.t.Helper()
	log, err := os.OpenFile(filepath.Join(m.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		m.t.Fatal(err)
	}
	m.log = log
	args := []string{
		"--name", m.Name,
		"--data-dir", filepath.Join(m.dir, "data"),
		"--listen-client-urls", m.ClientURL,
		"--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.peerURL,
		"--initial-advertise-peer-urls", m.peerURL,
		"--initial-cluster", m.cluster,
		"--initial-cluster-state", "new",
		"--initial-cluster-token", "tokenkeeper-test",
		// Fast elections, so that a killed leader is replaced in well
		// under a second; a loaded test machine still keeps up.
		"--heartbeat-interval", "50",
		"--election-timeout", "500",
		"--logger", "zap", "--log-outputs", "stderr",
	}
	if m.certs != nil {
		args = append(args, "--cert-file", m.certs.ServerCert, "--key-file", m.certs.ServerKey,
			"--client-cert-auth", "--trusted-ca-file", m.certs.CA)
	}
	m.cmd = exec.Command(bin, args...)
	m.cmd.Stdout, m.cmd.Stderr = log, log
	m.cmd.SysProcAttr = sysProcAttr()
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("etcdtest: start etcd: %v", err)
	}
}

// httpClient reaches the member, with the client certificate under TLS. Its
// timeout bounds a hang: a member that fsyncs, or hashes a password for auth,
// on a machine busy with other members and tests can take seconds to answer.
func (m *Member) httpClient() *http.Client {
	c := &http.Client{Timeout: 10 * time.Second}
	if m.certs != nil {
		c.Transport = &http.Transport{TLSClientConfig: m.certs.clientTLS(m.t)}
	}
	return c
}

// Post sends a JSON body to one of the member's gateway paths and returns
// the answer's body, failing the test on a transport error or a non-200.
func (m *Member) Post(path, body string) string {
	m.t.Helper()
	r, err := m.httpClient().Post(m.ClientURL+path, "application/json", strings.NewReader(body))
	if err != nil {
		m.t.Fatalf("etcdtest: %s: %v", path, err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if r.StatusCode != http.StatusOK {
		m.t.Fatalf("etcdtest: %s: %s: %s", path, r.Status, b)
	}
	return string(b)
}

// EnableAuth creates root (password rootpw) and user with password, with
// read-write access to every key, and turns etcd's authentication on.
func (c *Cluster) EnableAuth(user, password string) {
	m := c.Members[0]
	m.Post("/v3/auth/role/add", `{"name":"root"}`)
	m.Post("/v3/auth/user/add", `{"name":"root","password":"rootpw"}`)
	m.Post("/v3/auth/user/grant", `{"user":"root","role":"root"}`)
	m.Post("/v3/auth/role/add", `{"name":"rw"}`)
	m.Post("/v3/auth/role/grant", `{"name":"rw","perm":{"permType":"READWRITE","key":"AA==","range_end":"AA=="}}`)
	m.Post("/v3/auth/user/add", fmt.Sprintf(`{"name":%q,"password":%q}`, user, password))
	m.Post("/v3/auth/user/grant", fmt.Sprintf(`{"user":%q,"role":"rw"}`, user))
	m.Post("/v3/auth/enable", `{}`)
}

// Endpoints is the cluster's store URL host list: "127.0.0.1:P1,127.0.0.1:P2".
func (c *Cluster) Endpoints() string {
	var hs []string
	for _, m := range c.Members {
		_, hp, _ := strings.Cut(m.ClientURL, "://")
		hs = append(hs, hp)
	}
	return strings.Join(hs, ",")
}

// URL is "etcd://ENDPOINTS/prefix".
func (c *Cluster) URL(prefix string) string { return "etcd://" + c.Endpoints() + prefix }

// Kill stops the member at once (SIGKILL); its data directory stays.
func (m *Member) Kill() {
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.cmd = nil
	if m.log != nil {
		m.log.Close()
	}
}

// Log is the member's log so far, for a failing test's message.
func (m *Member) Log() string {
	b, _ := os.ReadFile(filepath.Join(m.dir, "etcd.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (m *Member) waitHealthy() {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	c := m.httpClient()
	for time.Now().Before(deadline) {
		r, err := c.Get(m.ClientURL + "/health")
		if err == nil {
			ok := r.StatusCode == http.StatusOK
			r.Body.Close()
			if ok {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	m.t.Fatalf("etcdtest: %s not healthy after 30 s:\n%s", m.Name, m.Log())
}

// Leader returns the index of the member that leads, or -1.
func (c *Cluster) Leader() int {
	for i, m := range c.Members {
		if m.cmd == nil {
			continue
		}
		r, err := m.httpClient().Post(m.ClientURL+"/v3/maintenance/status", "application/json", strings.NewReader("{}"))
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		r.Body.Close()
		var s struct {
			Header struct {
				MemberID string `json:"member_id"`
			} `json:"header"`
			Leader string `json:"leader"`
		}
		if json.Unmarshal(body, &s) == nil && s.Leader != "" && s.Leader == s.Header.MemberID {
			return i
		}
	}
	return -1
}

// FreeAddr is a loopback address (127.0.0.1:PORT) free now, for another
// server a test starts beside etcd (see freeAddr).
func FreeAddr(t testing.TB) string { t.Helper(); return freeAddr(t) }

// freeAddr finds a loopback port that is free now, below the kernel's
// ephemeral range: a port from that range, once closed, may become the source
// port of any outgoing connection before etcd binds it, and etcd then fails
// with "address already in use" (seen with several test packages at once).
func freeAddr(t testing.TB) string {
	t.Helper()
	high := ephemeralLow()
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", portLow+rand.IntN(high-portLow))
		if l, err := net.Listen("tcp", addr); err == nil {
			l.Close()
			return addr
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// portLow is the lowest port freeAddr picks.
const portLow = 10000

// ephemeralLow is the first port the kernel hands out to outgoing
// connections (Linux's ip_local_port_range; 32768 where it cannot be read, or
// where it leaves freeAddr fewer than 1000 ports).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > portLow+1000 {
				return n
			}
		}
	}
	return 32768
}
