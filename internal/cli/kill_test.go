package cli

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// testKillAnywhere: forced refreshes killed with SIGKILL at a random instant —
// before the request, while the endpoint is slow to answer, while the answer
// is being saved, after. After every kill the token file is whole (the old
// one or the new one), nothing is left that a later run would trip over, and
// the next run gets a token without a human: by refresh, or by bootstrap when
// the endpoint rotated the refresh token but the process died before saving
// its successor.
func testKillAnywhere(t *testing.T, bin string) {
	if testing.Short() {
		t.Skip("kills sixty processes")
	}
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	const iterations = 60
	deadline := time.Now().Add(25 * time.Second) // a bound on a very slow machine, not an assertion
	var stats struct{ beforeRequest, midRequest, lostRotation, saved, bootstraps, checkLeft, saveLeft int }
	for i := 0; i < iterations && time.Now().Before(deadline); i++ {
		before, _ := p.load()
		sent := p.srv.Count("")
		if rand.N(2) == 0 && p.srv.PendingFaults() == 0 {
			p.srv.Fail(fakeserver.Fault{Delay: rand.N(20 * time.Millisecond)})
		}
		o := p.killAfter(rand.N(25*time.Millisecond), "refresh", "--force")

		p.settle()
		after, _ := p.load() // fails the test if torn
		switch {
		case p.srv.Count("") == sent:
			stats.beforeRequest++
		case after.RefreshToken != before.RefreshToken:
			stats.saved++
		case !p.srv.ValidRefreshToken(after.RefreshToken):
			stats.lostRotation++
		default: // the endpoint saw the request but the kill came first
			stats.midRequest++
		}
		for _, name := range p.leftovers() {
			if strings.Contains(name, ".check-") {
				stats.checkLeft++
			} else if strings.HasPrefix(name, ".") {
				stats.saveLeft++
			}
		}
		if extra := p.unexpectedLeftovers(); len(extra) > 0 {
			t.Errorf("iteration %d: after the kill (%s), left in %s: %q", i, o, p.dir, extra)
		}

		// --force: the access token may well be valid; what needs proving is
		// that the stored refresh token, or else the bootstrap, still works.
		r := p.mustRun("refresh", "--force")
		if strings.Contains(r.stderr, "bootstrapped") {
			stats.bootstraps++
		}
		tok, _ := p.load()
		if !p.srv.ValidAccessToken(tok.AccessToken) || !p.srv.ValidRefreshToken(tok.RefreshToken) {
			t.Fatalf("iteration %d: after recovery the saved tokens are not the endpoint's live ones", i)
		}
		if extra := p.leftovers(); len(extra) > 0 {
			t.Errorf("iteration %d: after recovery, left in %s: %q", i, p.dir, extra)
		}
	}
	if stats.bootstraps != stats.lostRotation {
		t.Errorf("%d recoveries bootstrapped, want %d (one per rotation lost to a kill)", stats.bootstraps, stats.lostRotation)
	}
	t.Logf("kills: %d before any request (%d during the save check), %d during a request the endpoint had not answered, %d after the endpoint rotated but before the save (%d during the write), %d after the save; %d recoveries by bootstrap",
		stats.beforeRequest, stats.checkLeft, stats.midRequest, stats.lostRotation, stats.saveLeft, stats.saved, stats.bootstraps)
}

// killAfter starts tokenkeeper with args and kills it with SIGKILL after d,
// unless it ended first.
func (p *profile) killAfter(d time.Duration, args ...string) outcome {
	p.tb.Helper()
	cmd := p.command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		p.tb.Fatal(err)
	}
	time.Sleep(d)
	_ = cmd.Process.Signal(syscall.SIGKILL) // fails harmlessly if it already exited
	return wait(cmd, &stdout, &stderr)
}

// unexpectedLeftovers is what a kill left in the profile directory besides
// temporary files of an interrupted save ("." + the token file's name + …),
// which nothing reads and the next run removes.
func (p *profile) unexpectedLeftovers() []string {
	var extra []string
	for _, name := range p.leftovers() {
		if !strings.HasPrefix(name, ".refreshTokenObjectFile.json") {
			extra = append(extra, name)
		}
	}
	return extra
}

// testSignalMidRefresh: SIGTERM (systemd stopping a unit) or SIGINT (Ctrl-C)
// arriving after a refresh request was sent does not throw its answer away:
// the endpoint has already rotated the refresh token, and the answer holds the
// only copy of its successor. The run finishes the exchange, saves, exits 0,
// and the next run needs no bootstrap.
func testSignalMidRefresh(t *testing.T, bin string) {
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	p.slowAnswer.Store(true)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		sent := p.srv.Count("refresh_token")
		cmd := p.command("refresh", "--force")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); p.srv.Count("refresh_token") == sent; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("no refresh request after 10s")
			}
		}
		_ = cmd.Process.Signal(sig)
		o := wait(cmd, &stdout, &stderr)
		p.settle()
		if o.code != 0 {
			t.Errorf("%v after the request was sent: %s; want the exchange finished and exit 0", sig, o)
		}
		if tok, _ := p.load(); !p.srv.ValidRefreshToken(tok.RefreshToken) {
			t.Errorf("%v: the saved refresh token is dead: the rotated one was lost", sig)
		}
	}
	p.slowAnswer.Store(false)
	p.mustRun("refresh", "--force")
	if got := p.srv.Count("password"); got != 1 {
		t.Errorf("endpoint saw %d password grants, want 1 (no bootstrap after a signal)", got)
	}
}
