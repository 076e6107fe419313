//go:build linux

package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/oidcprovider"
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// testUnsavable: when the new token could not be saved — a file-size limit, a
// full disk, a read-only mount — tokenkeeper says so before it spends the
// refresh token: exit 75, no request at all, the token file byte for byte as
// it was, a message naming the directory and the OS error, and a hint that
// the refresh token was not used.
func testUnsavable(t *testing.T, bin string) {
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		breakIt func(t *testing.T, p *profile) // after the first bootstrap
		wrap    func(cmd *exec.Cmd)
		lock    bool // fails at opening the lock file, before the save check
		oserr   string
	}{
		{name: "file size limit", dir: func(t *testing.T) string { return t.TempDir() },
			wrap: fileSizeLimit0, oserr: "file too large"},
		{name: "disk full", dir: tinyFS, breakIt: func(t *testing.T, p *profile) { testfs.Fill(t, p.dir) },
			oserr: "no space left on device"},
		{name: "read-only", dir: tinyFS, breakIt: func(t *testing.T, p *profile) {
			remountReadOnly(t, p.dir)
		}, lock: true, oserr: "read-only file system"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProfile(t, bin, tt.dir(t), fakeserver.Options{Rotate: true})
			p.mustRun("refresh")
			p.expire()
			if tt.breakIt != nil {
				tt.breakIt(t, p)
			}
			for _, args := range [][]string{{"token"}, {"refresh"}, {"refresh", "--force"}} {
				want := fmt.Sprintf("tokenkeeper: cannot save a new token: storage: cannot save in %s: ", p.dir)
				if tt.lock {
					want = fmt.Sprintf("tokenkeeper: storage: lock %s: ", p.lockFile())
				}
				p.assertNotSpent(t, tt.wrap, want, tt.oserr, args...)
			}
		})
	}
}

// assertNotSpent runs tokenkeeper with args and checks that it ended in exit
// 75 without sending anything and without touching the token file.
func (p *profile) assertNotSpent(t *testing.T, wrap func(*exec.Cmd), want, oserr string, args ...string) {
	t.Helper()
	_, before := p.load()
	listing := p.leftovers()
	sent := p.srv.Count("")
	cmd := p.command(args...)
	if wrap != nil {
		wrap(cmd)
	}
	o := p.run(cmd)
	what := strings.Join(args, " ")
	if o.code != 75 {
		t.Errorf("%s: %s; want exit 75", what, o)
	}
	if !strings.Contains(o.stderr, want) || !strings.Contains(o.stderr, oserr) {
		t.Errorf("%s: stderr:\n%s\nwant %q and %q", what, o.stderr, want, oserr)
	}
	if !strings.Contains(o.stderr, "tokenkeeper: hint: ") || !strings.Contains(o.stderr, "the refresh token was not used") {
		t.Errorf("%s: stderr:\n%s\nwant a hint that the refresh token was not used", what, o.stderr)
	}
	if got := p.srv.Count(""); got != sent {
		t.Errorf("%s: the endpoint saw %d requests, want none", what, got-sent)
	}
	if _, after := p.load(); !bytes.Equal(after, before) {
		t.Errorf("%s: the token file changed", what)
	}
	if got := p.leftovers(); !slices.Equal(got, listing) {
		t.Errorf("%s: in %s besides the profile's files: got %q, want %q", what, p.dir, got, listing)
	}
}

// tinyFS is a 256 KiB tmpfs: room for the files and the 64 KiB save check.
func tinyFS(t *testing.T) string { return testfs.Tmpfs(t, "256k") }

// fileSizeLimit0 runs cmd with RLIMIT_FSIZE 0, so that every write that would
// grow a file fails. SIGXFSZ is ignored, as a Go program does anyway, so
// that the write fails with EFBIG rather than killing the process.
func fileSizeLimit0(cmd *exec.Cmd) {
	args := append([]string{"sh", "-c", `ulimit -f 0 && trap '' XFSZ && exec "$0" "$@"`}, cmd.Args...)
	cmd.Path, cmd.Args = "/bin/sh", args
}

// testDiskFillsDuringRequest: the disk fills up while the refresh request
// is at a rotating endpoint, after the save check passed. The answer is
// saved all the same, in the space the check reserved: the endpoint has
// spent the old refresh token, and the new one is the grant.
func testDiskFillsDuringRequest(t *testing.T, bin string) {
	p := newProfile(t, bin, tinyFS(t), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	p.expire()
	p.srv.Fail(fakeserver.Fault{Before: func() { testfs.Fill(t, p.dir) }})
	p.mustRun("refresh")
	tok, _ := p.load()
	if !p.srv.ValidRefreshToken(tok.RefreshToken) {
		t.Errorf("the token file holds a refresh token the endpoint no longer accepts: the rotated one was lost")
	}
	if got := p.srv.Count("refresh_token"); got != 1 {
		t.Errorf("endpoint saw %d refresh requests, want 1", got)
	}
	if got := p.leftovers(); len(got) != 1 || got[0] != "filler" {
		t.Errorf("in %s besides the profile's files: %q, want only the filler", p.dir, got)
	}
}

// testDiskFillsDuringBootstrap: the stored refresh token is refused, which
// is remembered in the token file, and the disk fills up while the new grant
// that follows is asked for. The remembered refusal's save used the space
// reserved for the answer; the new grant is saved all the same, in space
// reserved again before it was asked for.
func testDiskFillsDuringBootstrap(t *testing.T, bin string) {
	p := newProfile(t, bin, tinyFS(t), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	p.expire()
	p.srv.Fail(fakeserver.Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"revoked"}`})
	p.srv.Fail(fakeserver.Fault{Before: func() { testfs.Fill(t, p.dir) }})
	p.mustRun("refresh")
	tok, _ := p.load()
	if !p.srv.ValidRefreshToken(tok.RefreshToken) {
		t.Errorf("the token file holds a refresh token the endpoint does not know: the new grant was lost")
	}
	if got := p.srv.Count("password"); got != 2 {
		t.Errorf("endpoint saw %d password grants, want 2", got)
	}
}

// testStoreLostLockDiskFull: a host's lock in etcd is lost and its disk
// fills up while its refresh request is at a rotating endpoint. The save to
// etcd is refused, and the answer, which holds the only live refresh token,
// is kept in the pending file all the same, in the space the save check
// reserved for it; the host's next run pushes it.
func testStoreLostLockDiskFull(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	dir := tinyFS(t)
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), mustRead(t, f.path("credentials.json")), 0o600); err != nil {
		t.Fatal(err)
	}
	f.hosts, f.env = append(f.hosts, dir), append(f.env, nil)
	f.extra = []string{"--timeout", "5s", "--lock-timeout", "10s"}
	f.mustRunOn(1, "refresh")
	before, _ := f.record()
	f.srv.Fail(fakeserver.Fault{Before: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		kv, _, err := f.client.Get(ctx, "/fleet/default/lock")
		if err != nil || kv == nil {
			t.Errorf("lock key while host 1 renews: %v, %v", kv, err)
			return
		}
		if err := f.client.Revoke(ctx, int64(kv.Lease)); err != nil {
			t.Error(err)
		}
		testfs.Fill(t, dir)
	}})
	o := f.run(f.cmd(1, "refresh", "--force"))
	if o.code != exitTemp || !strings.Contains(o.stderr, "will be pushed by the next run") {
		t.Errorf("the run whose lock was lost on a full disk: got %s, want exit 75 and the answer kept", o)
	}
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	f.mustRunOn(1, "token")
	now, _ := f.record()
	if now.RefreshToken == before.RefreshToken || !f.srv.ValidRefreshToken(now.RefreshToken) {
		t.Error("the answer was lost: etcd's refresh token is not the endpoint's live one")
	}
	if got := f.srv.Count("password"); got != 1 {
		t.Errorf("%d password grants, want 1: the grant should survive without a bootstrap", got)
	}
}

// testLoginDeviceNearlyFullDisk: the disk fills up, all but a few KiB,
// while a person approves a device login. The provider has issued the grant
// by the time tokenkeeper takes the lock: there is nothing left to check
// before spending, and the record, which fits, is saved; a 64 KiB save
// check there would throw the person's grant away.
func testLoginDeviceNearlyFullDisk(t *testing.T, bin string) {
	lp := newLoginProfile(t, bin, "device_code")
	dir := tinyFS(t)
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), mustRead(t, filepath.Join(lp.dir, "credentials.json")), 0o600); err != nil {
		t.Fatal(err)
	}
	lp.dir = dir
	all, err := deviceLogin(t, lp.command("", "login"), func(verify, code string) error {
		testfs.Fill(t, dir)
		filler := filepath.Join(dir, "filler")
		fi, err := os.Stat(filler)
		if err != nil {
			return err
		}
		if err := os.Truncate(filler, fi.Size()-32<<10); err != nil {
			return err
		}
		return oidcprovider.ApproveDevice(verify, code, lp.p.Username, oidcprovider.Password, "allow")
	})
	if err != nil {
		t.Fatalf("login on a nearly full disk: %v\n%s", err, all)
	}
	if lp.token().RefreshToken == "" {
		t.Fatal("no refresh token saved")
	}
}

// testLeftoversFreed: a run killed during its save check leaves a 64 KiB
// temporary file; on a nearly full disk those are the blocks the next run's
// check needs. The next run, holding the lock, removes the leftover first and
// so renews instead of failing for ever.
func testLeftoversFreed(t *testing.T, bin string) {
	p := newProfile(t, bin, tinyFS(t), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	leftover := p.path("." + storage.TokenFileName + ".check-1234567")
	if err := os.WriteFile(leftover, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	testfs.Fill(t, p.dir)
	p.mustRun("refresh", "--force")
	if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("leftover %s: %v; want it removed", leftover, err)
	}
	if got := p.srv.Count("refresh_token"); got != 1 {
		t.Errorf("endpoint saw %d refresh requests, want 1", got)
	}
}

// remountReadOnly remounts dir's file system read-only. A remount is refused
// (EBUSY) while any process has a file there open for writing, and a child
// that another parallel test is starting holds copies of this process's
// descriptors until it execs: the remount is tried again for a few seconds.
func remountReadOnly(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
		if err == nil {
			return
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			t.Fatalf("remount read-only: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
