//go:build unix

package etcd

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
)

// ca=, cert= and key= naming a FIFO are an error naming it, at once: no open
// waits for a writer that never comes.
func TestNewClientFIFOFiles(t *testing.T) {
	certs := etcdtest.NewCerts(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, tc := range []struct{ name, query string }{
		{"ca", "ca=" + fifo},
		{"cert", "ca=" + certs.CA + "&cert=" + fifo + "&key=" + certs.ClientKey},
		{"key", "ca=" + certs.CA + "&cert=" + certs.ClientCert + "&key=" + fifo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseURL("etcds://127.0.0.1:1/p?" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, err := NewClient(cfg); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "FIFO") {
					t.Fatalf("NewClient with %s a FIFO: %v, want an error naming the FIFO", tc.name, err)
				}
			case <-time.After(10 * time.Second):
				// Unblock the open so the goroutine ends, then fail.
				if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					f.Close()
				}
				t.Fatalf("NewClient with %s a FIFO hangs", tc.name)
			}
		})
	}
}
