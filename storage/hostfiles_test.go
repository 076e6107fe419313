package storage

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestHostFilesPending: a pending answer written by the store is read back
// with its version; a file in the layout the stores wrote before they shared
// HostFiles is still pushed (it may hold a spent refresh token's answer);
// one written for another store is refused where the store checks.
func TestHostFilesPending(t *testing.T) {
	dir := tempDir(t)
	h := &HostFiles{Copy: filepath.Join(dir, "copy.json"), Pending: filepath.Join(dir, "pending.json"),
		Store: "etcd://a:1/tokenkeeper/p/record", BaseKey: "base_revision", What: "etcd"}
	if err := h.WritePending([]byte(`{"refresh_token":"fake-rt"}`), int64(7), nil); err != nil {
		t.Fatal(err)
	}
	var base int64
	data, err := h.ReadPending(&base)
	if err != nil || base != 7 || string(data) != `{"refresh_token":"fake-rt"}` {
		t.Fatalf("ReadPending = %q, %d, %v", data, base, err)
	}
	// The etcd store's own layout before: fields in its struct's order.
	old := `{"store":"etcd://b:2/tokenkeeper/p/record","base_revision":42,"record":"eyJhY2Nlc3NfdG9rZW4iOiJ4In0="}`
	if err := ReplaceFile(h.Pending, []byte(old)); err != nil {
		t.Fatal(err)
	}
	if data, err = h.ReadPending(&base); err != nil || base != 42 || string(data) != `{"access_token":"x"}` {
		t.Fatalf("an older pending file: %q, %d, %v", data, base, err)
	}
	h.CheckStore = true
	if _, err := h.ReadPending(&base); err == nil || !strings.Contains(err.Error(), "not one tokenkeeper wrote for") {
		t.Fatalf("a pending file of another store: %v", err)
	}
}
