package etcd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/storetest"
)

// etcd's usual deployment: HTTPS with client certificates, and users.
func TestTLSClientCertAndAuth(t *testing.T) {
	t.Parallel()
	certs := etcdtest.NewCerts(t)
	c := etcdtest.StartTLS(t, 1, certs)
	c.EnableAuth("bot", "s3cret-pw")
	url := "etcds://" + c.Endpoints() + "/tls?ca=" + certs.CA + "&cert=" + certs.ClientCert + "&key=" + certs.ClientKey + "&user=bot"

	withPassword := func(pw string) *Store {
		cfg, err := ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Password = pw
		cl, err := NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		dir := t.TempDir()
		s, err := New(Options{Client: cl, SharedOptions: storage.SharedOptions{Profile: "p1", CopyFile: dir + "/c", PendingFile: dir + "/p", Timeout: 3 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := withPassword("s3cret-pw")
	storetest.Put(t, s, `{"v":"tls"}`)
	if got, err := s.Fetch(context.Background()); err != nil || string(got) != `{"v":"tls"}` {
		t.Fatalf("Fetch over TLS with auth: %q, %v", got, err)
	}
	if !strings.HasPrefix(s.Name(), "etcds://127.0.0.1:") {
		t.Errorf("Name = %q", s.Name())
	}

	bad := withPassword("wrong")
	_, err := bad.Fetch(context.Background())
	if err == nil || !strings.Contains(err.Error(), "authenticate as bot") || errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("a wrong password: got %v, want an authentication error that is not 'unavailable'", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the error shows the password: %v", err)
	}

	cfg, _ := ParseURL("etcds://" + c.Endpoints() + "/tls?ca=" + certs.CA)
	cl, _ := NewClient(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, _, err := cl.Get(ctx, "/x"); err == nil {
		t.Fatal("a client without a certificate was served")
	}

	// Without ca= the system roots verify the members: a member whose CA is
	// not among them is refused at the handshake, certificate and all.
	cfg, _ = ParseURL("etcds://" + c.Endpoints() + "/tls?cert=" + certs.ClientCert + "&key=" + certs.ClientKey)
	cl, _ = NewClient(cfg)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	if _, _, err := cl.Get(ctx2, "/x"); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("etcds:// without ca= to a member signed by another CA: %v, want the certificate refused", err)
	}
}
