package kube

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// hostileClient is a client of srv, a TLS server posing as an API server.
func hostileClient(t *testing.T, srv *httptest.Server, conn Conn) *Client {
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	conn.Server, conn.TLS = srv.URL, &tls.Config{RootCAs: pool}
	c := NewClient(Config{Namespace: "apps", Prefix: "tokenkeeper"}, func() (*Conn, error) { return &conn, nil })
	t.Cleanup(c.Close)
	return c
}

// TestNoRedirectFollowed: an API server that redirects (to plain http on
// the same host, where Go would keep the Authorization header) gets no
// second request: a redirect is a configuration error (78), and the bearer
// token and the record go nowhere else.
func TestNoRedirectFollowed(t *testing.T) {
	var caught atomic.Int32
	catcher := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { caught.Add(1) }))
	defer catcher.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, catcher.URL+r.URL.Path, http.StatusPermanentRedirect)
	}))
	defer srv.Close()
	c := hostileClient(t, srv, Conn{Token: "fake-bearer-token-123"})
	_, err := c.getSecret(t.Context(), "tokenkeeper-p")
	var ce *storage.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("getSecret through a redirect: %v, want a configuration error naming the redirect", err)
	}
	if n := caught.Load(); n != 0 {
		t.Errorf("the redirect was followed: %d requests reached its target", n)
	}
}

// TestServerEchoRedacted: an answer that echoes the Authorization header
// back shows no bearer token, from the kubeconfig or from a token file.
func TestServerEchoRedacted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"kind":"Status","message":"token ` + r.Header.Get("Authorization") + ` is not allowed","code":403}`))
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("file-bearer-token-456\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, conn := range []Conn{{Token: "inline-bearer-token-123"}, {TokenFile: file}} {
		c := hostileClient(t, srv, conn)
		_, err := c.getSecret(t.Context(), "tokenkeeper-p")
		if err == nil || strings.Contains(err.Error(), "bearer-token") {
			t.Errorf("a 403 echoing the header: %v", err)
		}
	}
}

// TestEndlessListPages: an API server whose list pages never end — the same
// continue token again, or a new one every time — gets an error once that is
// clear, not a loop that grows until the deadline.
func TestEndlessListPages(t *testing.T) {
	for _, fresh := range []bool{false, true} {
		var pages atomic.Int32
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := pages.Add(1)
			token := "same"
			if fresh {
				token = fmt.Sprint("page-", n)
			}
			fmt.Fprintf(w, `{"metadata":{"continue":%q},"items":[{"metadata":{"name":"tokenkeeper-a"}}]}`, token)
		}))
		c := hostileClient(t, srv, Conn{Token: "t"})
		_, err := c.Profiles(t.Context())
		srv.Close()
		if err == nil || !strings.Contains(err.Error(), "pages do not end") {
			t.Errorf("fresh tokens %v: Profiles = %v, want the pages-do-not-end error", fresh, err)
		}
		if n := pages.Load(); n > maxListPages+1 {
			t.Errorf("fresh tokens %v: %d pages asked for, want at most %d", fresh, n, maxListPages+1)
		}
	}
}

// TestServerEchoCutRedacted: an answer that echoes the header, or the
// Secret it refused (the record, in base64 or decoded), after a long text
// shows no part of a secret: the secrets are hidden before the message is
// cut, and a cut never leaves half of one.
func TestServerEchoCutRedacted(t *testing.T) {
	const access, refresh = "record-access-token-abcdefgh", "record-refresh-token-ijklmnop"
	for _, pad := range []int{0, 270, 280, 290} {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			var s secret
			_ = json.Unmarshal(body, &s)
			echo := r.Header.Get("Authorization") + " " + string(body) + " " + string(s.Data["record"])
			w.WriteHeader(http.StatusUnprocessableEntity)
			json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "code": 422, "reason": echo,
				"message": strings.Repeat("x", pad) + " " + echo})
		}))
		c := hostileClient(t, srv, Conn{Token: "inline-bearer-token-123"})
		record, _ := json.Marshal(map[string]string{"access_token": access, "refresh_token": refresh})
		_, err := c.putSecret(t.Context(), &secret{Metadata: objectMeta{Name: "tokenkeeper-p"}, Data: map[string][]byte{"record": record}})
		var se *StatusError
		if !errors.As(err, &se) {
			t.Fatalf("pad %d: %v, want a StatusError", pad, err)
		}
		text := se.Message + " " + se.Reason
		for _, s := range []string{"inline-bearer-token-123", access, refresh} {
			for _, f := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
				if strings.Contains(text, f[:10]) {
					t.Errorf("pad %d: the answer's text holds part of a secret of %d chars", pad, len(s))
				}
			}
		}
		srv.Close()
	}
}
