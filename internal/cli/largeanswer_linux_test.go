//go:build linux

package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
)

// TestLargeAnswerOnSmallDisk: on a file system with room for the
// 64 KiB reserved before a refresh but not for the whole answer (a 150 KB id_token),
// the real binary saves the record cut down to what the lifecycle needs, warns what
// it dropped, and hands out the new access token: the rotated refresh token is
// saved, and the next renewal uses it instead of a new grant.
func TestLargeAnswerOnSmallDisk(t *testing.T) {
	t.Parallel()
	dir := testfs.Tmpfs(t, "128k")
	bin := buildTokenkeeper(t)
	p := newProfile(t, bin, dir, fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	p.expire()
	idToken, _ := json.Marshal(strings.Repeat("i", 150_000))
	p.srv.Fail(fakeserver.Fault{Fields: map[string]json.RawMessage{"id_token": idToken}})

	o := p.mustRun("token")
	tok, data := p.load()
	if !p.srv.ValidRefreshToken(tok.RefreshToken) {
		t.Fatalf("the rotated refresh token was not saved; %s", o)
	}
	if got := strings.TrimSpace(o.stdout); got != tok.AccessToken || !p.srv.ValidAccessToken(got) {
		t.Errorf("token printed another access token than the saved, live one")
	}
	if len(data) > 64<<10 || strings.Contains(string(data), "iiii") {
		t.Errorf("token file is %d bytes, holds the id_token: %v; want it cut down", len(data), strings.Contains(string(data), "iiii"))
	}
	for _, want := range []string{"tokenkeeper: warning: ", "does not fit in the 64 KiB reserved", p.tokenFile(), "without id_token"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr:\n%s\nwant %q", o.stderr, want)
		}
	}
	if fi, err := os.Stat(p.tokenFile()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v, mode %v", err, fi.Mode())
	}

	p.expire()
	p.mustRun("refresh")
	if n, r := p.srv.Count("password"), p.srv.Count("refresh_token"); n != 1 || r != 2 {
		t.Errorf("endpoint saw %d password and %d refresh requests, want 1 and 2 (the saved refresh token renewed)", n, r)
	}
}
