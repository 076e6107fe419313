//go:build linux

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/testfs"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// TestFileSafety runs, as real processes of the built binary, the cases
// where the token file is a symbolic link, huge, or another user's.
func TestFileSafety(t *testing.T) {
	runWithBinary(t, []binTest{
		{"TwoDirsOneFile", testTwoDirsOneFile},
		{"FullTargetThroughLink", testFullTargetThroughLink},
		{"HugeTokenFile", testHugeTokenFile},
		{"OtherUsersFile", testOtherUsersFile},
	})
}

// linkTo makes p's token file a symbolic link to target.
func (p *profile) linkTo(t *testing.T, target string) {
	t.Helper()
	if err := os.Remove(p.tokenFile()); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p.tokenFile()); err != nil {
		t.Fatal(err)
	}
}

// testTwoDirsOneFile: --dir a and --dir b whose token files are one file (b's is
// a link to a's) take one lock, so two runs at once on the expired token send
// one refresh, not two (with rotation, the second would replay a spent token).
func testTwoDirsOneFile(t *testing.T, bin string) {
	a := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	a.mustRun("refresh")
	b := &profile{tb: t, bin: bin, dir: t.TempDir(), srv: a.srv}
	creds, err := os.ReadFile(a.path("credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.path("credentials.json"), creds, 0o600); err != nil {
		t.Fatal(err)
	}
	b.linkTo(t, a.tokenFile())
	for round := range 3 {
		a.expire()
		a.slowAnswer.Store(true) // the first request is still in flight when the second run looks
		before := a.srv.Count("refresh_token")
		outs := runAll(t, []*exec.Cmd{a.command("token"), b.command("token")})
		a.settle()
		for i, o := range outs {
			if o.code != 0 {
				t.Fatalf("round %d, run %d: %s", round, i, o)
			}
		}
		if outs[0].stdout != outs[1].stdout {
			t.Errorf("round %d: the two runs printed different tokens", round)
		}
		if got := a.srv.Count("refresh_token") - before; got != 1 {
			t.Errorf("round %d: %d refresh requests, want 1 (one lock for one file)", round, got)
		}
	}
	if got := a.srv.Count("password"); got != 1 {
		t.Errorf("%d bootstraps, want the first one only", got)
	}
	if fi, err := os.Lstat(b.tokenFile()); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("b's token file is no longer a link (%v)", err)
	}
}

// testFullTargetThroughLink: the token file links to a file on a full file
// system; the profile directory itself has room. The save check is made where
// the file really is, so the refresh token is not spent.
func testFullTargetThroughLink(t *testing.T, bin string) {
	full := tinyFS(t)
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	target := filepath.Join(full, storage.TokenFileName)
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p.linkTo(t, target)
	p.mustRun("refresh")
	p.expire()
	testfs.Fill(t, full)
	for _, args := range [][]string{{"token"}, {"refresh"}, {"refresh", "--force"}} {
		p.assertNotSpent(t, nil, "tokenkeeper: cannot save a new token: storage: cannot save in "+full+": ",
			"no space left on device", args...)
	}
	if fi, err := os.Lstat(p.tokenFile()); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (%v)", err)
	}
}

// testHugeTokenFile: a 100 MB token file (sparse: it costs no disk) is read no
// further than 1 MiB. It is set aside as corrupt and a new grant is made, and
// the process's peak memory stays far below the file's size.
func testHugeTokenFile(t *testing.T, bin string) {
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{})
	if err := os.WriteFile(p.tokenFile(), []byte(`{"access_token": "`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p.tokenFile(), 100<<20); err != nil {
		t.Fatal(err)
	}
	// Linux counts in a child's ru_maxrss the memory of the process it was
	// forked from (this test binary: large under -race), so the huge file's run
	// is compared with a baseline run forked from the same process.
	base := p.command("version")
	p.run(base)
	cmd := p.command("refresh")
	o := p.run(cmd)
	if o.code != 0 || !strings.Contains(o.stderr, "is not a valid token file") || !strings.Contains(o.stderr, "moved it to ") {
		t.Fatalf("refresh: %s; want the file set aside and a new grant", o)
	}
	const slack = 32 << 20 // the 1 MiB read, a TLS-less HTTP exchange, and slack; the file is 100 MiB
	baseRSS, ok1 := maxRSS(base)
	rss, ok2 := maxRSS(cmd)
	if !ok1 || !ok2 {
		t.Error("no resource usage for the process")
	} else if rss > baseRSS+slack {
		t.Errorf("peak memory %d MiB against %d MiB for tokenkeeper version: the file was read whole", rss>>20, baseRSS>>20)
	}
	moved, _ := filepath.Glob(p.tokenFile() + ".corrupt-*")
	if len(moved) != 1 {
		t.Fatalf("%d set-aside files, want 1", len(moved))
	}
	if fi, err := os.Stat(moved[0]); err != nil || fi.Size() != 100<<20 {
		t.Errorf("the set-aside file is not the whole original (%v)", err)
	}
	p.load()
}

// testOtherUsersFile: a token file (or the file its link leads to) that belongs
// to another user is refused: exit 78, nothing sent, the file neither read nor
// replaced by one of ours. Needs root, to give a file to uid 65534.
func testOtherUsersFile(t *testing.T, bin string) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user (uid 65534); run the tests as root to cover it")
	}
	for _, linked := range []bool{false, true} {
		name := map[bool]string{false: "the file itself", true: "through a link"}[linked]
		t.Run(name, func(t *testing.T) {
			p := newProfile(t, bin, t.TempDir(), fakeserver.Options{})
			p.mustRun("refresh")
			p.expire()
			path := p.tokenFile()
			if linked {
				other := filepath.Join(t.TempDir(), "theirs.json")
				if err := os.Rename(path, other); err != nil {
					t.Fatal(err)
				}
				p.linkTo(t, other)
				path = other
			}
			if err := os.Chown(path, 65534, 65534); err != nil {
				t.Skipf("cannot give %s to uid 65534: %v", path, err)
			}
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			sent := p.srv.Count("")
			for _, args := range [][]string{{"token"}, {"refresh", "--force"}, {"status"}} {
				o := p.run(p.command(args...))
				want := "storage: " + path + ": belongs to another user (uid 65534, not 0)"
				if o.code != 78 || !strings.Contains(o.stderr+o.stdout, want) {
					t.Errorf("%s: %s\nstdout:\n%s\nwant exit 78 and %q", strings.Join(args, " "), o, o.stdout, want)
				}
			}
			if got := p.srv.Count(""); got != sent {
				t.Errorf("%d requests, want none", got-sent)
			}
			after, err := os.ReadFile(path)
			var st syscall.Stat_t
			if err != nil || !bytes.Equal(after, before) || syscall.Stat(path, &st) != nil || st.Uid != 65534 {
				t.Errorf("the other user's file was changed or replaced (uid %d, err %v)", st.Uid, err)
			}
		})
	}
}

// maxRSS is the peak resident memory of a finished command, in bytes.
func maxRSS(cmd *exec.Cmd) (int64, bool) {
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss << 10, true // Maxrss is in KiB on Linux
}

// TestSetAsideOwnerOnly: a token file that is set aside — unreadable
// (corrupt-…), or kept by logout (logged-out-…) — holds a grant and stays
// until a person removes it: it is readable by its owner alone, even when the
// file had been made readable by others.
func TestSetAsideOwnerOnly(t *testing.T) {
	t.Parallel()
	bin := tokenkeeperBinary(t)
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	data := append(mustRead(t, p.tokenFile()), "garbage\n"...)
	if err := os.WriteFile(p.tokenFile(), data, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p.tokenFile(), 0o644)
	p.run(p.command("refresh"))
	os.Chmod(p.tokenFile(), 0o644)
	p.run(p.command("logout"))
	found := 0
	for _, pattern := range []string{".corrupt-*", ".logged-out-*"} {
		names, _ := filepath.Glob(p.tokenFile() + pattern)
		for _, n := range names {
			found++
			if fi, err := os.Stat(n); err != nil || fi.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: mode %v, want readable by its owner alone", filepath.Base(n), fi.Mode().Perm())
			}
		}
	}
	if found == 0 {
		t.Errorf("nothing was set aside")
	}
}
