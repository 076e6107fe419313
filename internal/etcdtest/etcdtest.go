// Package etcdtest starts real etcd members (Debian's etcd-server binary,
// /usr/bin/etcd) on loopback ports in temporary directories, for tests.
// Tests that need one skip, naming the package to install, when the binary
// is absent.
package etcdtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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
	bin := Binary(t)
	c := &Cluster{}
	var peers []string
	for i := range n {
		m := &Member{Name: fmt.Sprintf("m%d", i), dir: t.TempDir(), t: t}
		m.ClientURL = "http://" + freeAddr(t)
		m.peerURL = "http://" + freeAddr(t)
		peers = append(peers, m.Name+"="+m.peerURL)
		c.Members = append(c.Members, m)
	}
	for _, m := range c.Members {
		m.cluster = strings.Join(peers, ",")
		m.start(bin, "new")
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

func (m *Member) start(bin, state string) {
	m.t.Helper()
	log, err := os.OpenFile(filepath.Join(m.dir, "etcd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		m.t.Fatal(err)
	}
	m.log = log
	m.cmd = exec.Command(bin,
		"--name", m.Name,
		"--data-dir", filepath.Join(m.dir, "data"),
		"--listen-client-urls", m.ClientURL,
		"--advertise-client-urls", m.ClientURL,
		"--listen-peer-urls", m.peerURL,
		"--initial-advertise-peer-urls", m.peerURL,
		"--initial-cluster", m.cluster,
		"--initial-cluster-state", state,
		"--initial-cluster-token", "tokenkeeper-test",
		// Fast elections, so that a killed leader is replaced in well
		// under a second; a loaded test machine still keeps up.
		"--heartbeat-interval", "50",
		"--election-timeout", "500",
		"--logger", "zap", "--log-outputs", "stderr",
	)
	m.cmd.Stdout, m.cmd.Stderr = log, log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		m.t.Fatalf("etcdtest: start etcd: %v", err)
	}
}

// Endpoints is the cluster's store URL host list: "127.0.0.1:P1,127.0.0.1:P2".
func (c *Cluster) Endpoints() string {
	var hs []string
	for _, m := range c.Members {
		hs = append(hs, strings.TrimPrefix(m.ClientURL, "http://"))
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

// Stop pauses the member (SIGSTOP): it keeps its connections but answers
// nothing, as a partitioned host does. Cont resumes it.
func (m *Member) Stop() { _ = m.cmd.Process.Signal(syscall.SIGSTOP) }

// Cont resumes a stopped member.
func (m *Member) Cont() { _ = m.cmd.Process.Signal(syscall.SIGCONT) }

// Restart starts a killed member again on its data directory.
func (m *Member) Restart() {
	m.t.Helper()
	m.start(Binary(m.t), "existing")
	m.waitHealthy()
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
	c := &http.Client{Timeout: time.Second}
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
	hc := &http.Client{Timeout: time.Second}
	for i, m := range c.Members {
		if m.cmd == nil {
			continue
		}
		r, err := hc.Post(m.ClientURL+"/v3/maintenance/status", "application/json", strings.NewReader("{}"))
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

// freeAddr finds a loopback port that is free now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
