// Package oidcnode runs panva's oidc-provider (the certified Node OpenID
// provider, MIT) for tests only: testdata/provider.mjs, with the version pinned
// by testdata/package-lock.json and installed by `npm ci --prefix DIR` (the CI
// script does it). A test that finds no node, or no node_modules, is skipped
// with the command that installs what is missing.
//
// The provider is configured as provider.mjs describes: a public client for
// the code and device grants with refresh-token rotation and reuse detection,
// one whose grant carries fewer scopes than asked, and a client_credentials
// client. Its login and device pages are plain forms that Browse and
// ApproveDevice fill in as a person would.
package oidcnode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// The clients and the one password of provider.mjs.
const (
	PublicClient  = "tk-public"
	FewerClient   = "tk-fewer"
	ServiceClient = "tk-service"
	ServiceSecret = "tk-service-secret"
	Username      = "tk-user"
	Password      = "verysecure"
)

// Dir is the node project: provider.mjs, package.json, package-lock.json.
// It is found from this source file, else (a -trimpath build) from the
// working directory up, as a test runs in its package's directory.
func Dir() string {
	const rel = "internal/oidcnode/testdata"
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		return filepath.Join(filepath.Dir(file), "testdata")
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, rel, "provider.mjs")); err == nil {
			return filepath.Join(d, rel)
		}
		if filepath.Dir(d) == d {
			return filepath.Join(wd, rel)
		}
	}
}

// Version is the oidc-provider version the lock file pins.
func Version() string {
	data, err := os.ReadFile(filepath.Join(Dir(), "package-lock.json"))
	if err != nil {
		return ""
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	json.Unmarshal(data, &lock)
	return lock.Packages["node_modules/oidc-provider"].Version
}

// Provider is one running oidc-provider.
type Provider struct {
	Issuer string

	cmd    *exec.Cmd
	stderr *lockedBuffer
}

// TB is what Start needs of a test.
type TB interface {
	Helper()
	Cleanup(func())
	Failed() bool
	Fatalf(string, ...any)
	Logf(string, ...any)
	Skipf(string, ...any)
}

// The clients of provider.mjs that authenticate with a key, when StartWith
// is given the keys.
const (
	JWTServiceClient  = "tk-jwt-service"
	JWTClient         = "tk-jwt"
	MTLSServiceClient = "tk-mtls-service"
)

// Options give provider.mjs the clients that authenticate with a key.
type Options struct {
	// ClientKeys are the public keys (PEM, by kid) of the private_key_jwt
	// clients; none: no such clients.
	ClientKeys map[string]string
	// ClientCert (PEM) is the self_signed_tls_client_auth client's
	// certificate; ServerCert and ServerKey (PEM) are the https listener's,
	// for 127.0.0.1. None: no such client, no https listener.
	ClientCert, ServerCert, ServerKey string
}

// Start runs the provider on 127.0.0.1 until the test ends.
func Start(tb TB) *Provider {
	tb.Helper()
	return StartWith(tb, Options{})
}

// StartWith is Start with the clients that authenticate with a key.
func StartWith(tb TB, o Options) *Provider {
	tb.Helper()
	dir := Dir()
	node, err := exec.LookPath("node")
	if err != nil {
		tb.Skipf("oidcnode: no node on PATH: install Node.js 20 or later, then run npm ci --prefix %s", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		tb.Skipf("oidcnode: oidc-provider is not installed in %s: run npm ci --prefix %s", dir, dir)
	}
	p := &Provider{stderr: &lockedBuffer{}}
	p.cmd = exec.Command(node, "provider.mjs")
	p.cmd.Dir = dir
	p.cmd.Env = os.Environ()
	if len(o.ClientKeys) > 0 {
		keys, _ := json.Marshal(o.ClientKeys)
		p.cmd.Env = append(p.cmd.Env, "TK_CLIENT_KEYS="+string(keys))
	}
	if o.ClientCert != "" {
		p.cmd.Env = append(p.cmd.Env, "TK_CLIENT_CERT="+o.ClientCert, "TK_TLS_CERT="+o.ServerCert, "TK_TLS_KEY="+o.ServerKey)
	}
	p.cmd.Stderr = p.stderr
	// provider.mjs ends when its stdin closes: a test killed before its
	// cleanup leaves no provider behind.
	stdin, err := p.cmd.StdinPipe()
	if err != nil {
		tb.Fatalf("oidcnode: %v", err)
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatalf("oidcnode: %v", err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatalf("oidcnode: start node: %v", err)
	}
	tb.Cleanup(func() {
		stdin.Close()
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if tb.Failed() {
			tb.Logf("oidc-provider's stderr:\n%s", p.stderr.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		issuer, ok := strings.CutPrefix(strings.TrimSpace(s), "issuer ")
		if !ok {
			tb.Fatalf("oidcnode: provider.mjs did not start: %q\n%s", s, p.stderr.String())
		}
		p.Issuer = issuer
	case <-time.After(60 * time.Second):
		tb.Fatalf("oidcnode: provider.mjs printed no issuer within a minute\n%s", p.stderr.String())
	}
	return p
}

// counts is what provider.mjs counted at its token endpoint.
type counts struct {
	Refresh          map[string]int `json:"refresh"`
	Grants           map[string]int `json:"grants"`
	RefreshWithScope int            `json:"refresh_with_scope"`
}

func (p *Provider) counts() (counts, error) {
	var c counts
	resp, err := http.Get(p.Issuer + "/_test/counts")
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	return c, json.NewDecoder(resp.Body).Decode(&c)
}

// RefreshUses returns how many times each refresh token was presented at the
// token endpoint; nil if the provider cannot be asked.
func (p *Provider) RefreshUses() map[string]int {
	c, _ := p.counts()
	return c.Refresh
}

// RefreshesWithScope is how many refresh requests carried a scope parameter.
func (p *Provider) RefreshesWithScope() int {
	c, _ := p.counts()
	return c.RefreshWithScope
}

// Requests is how many token requests of grant type gty the provider received.
func (p *Provider) Requests(gty string) int {
	c, _ := p.counts()
	return c.Grants[gty]
}

// RefreshTokenLive reports whether the provider would accept refresh token rt.
func (p *Provider) RefreshTokenLive(rt string) bool {
	resp, err := http.Get(p.Issuer + "/_test/live?token=" + url.QueryEscape(rt))
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var v struct{ Live bool }
	json.NewDecoder(resp.Body).Decode(&v)
	return v.Live
}

// RevokeGrant ends the grant behind refresh token rt, as an administrator
// revoking a user's access would.
func (p *Provider) RevokeGrant(rt string) error {
	resp, err := http.Post(p.Issuer+"/_test/revoke?token="+url.QueryEscape(rt), "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("oidcnode: revoke: %d %s", resp.StatusCode, body)
	}
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
