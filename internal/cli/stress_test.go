package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// stampede is how many processes run at once (docs/contract.md §2 step 2: fifty scripts, one request).
const stampede = 50

// slowFirst delays the next token request, so that the processes of a
// stampede pile up on the lock while the first one is at the endpoint rather
// than, on a slow machine, arriving one after the other.
func slowFirst(p *profile) { p.srv.Fail(fakeserver.Fault{Delay: 300 * time.Millisecond}) }

// testStampede: fifty concurrent `tokenkeeper token` on an expired access
// token against an endpoint whose refresh tokens are single-use. All exit 0,
// all print the same token, and the endpoint saw exactly one refresh request —
// a second one would have replayed a spent refresh token (invalid_grant) and
// fallen back to a bootstrap.
func testStampede(t *testing.T, bin string) {
	if testing.Short() {
		t.Skip("starts hundreds of processes")
	}
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	for round := 1; round <= 3; round++ {
		p.expire()
		slowFirst(p)
		cmds := make([]*exec.Cmd, stampede)
		for i := range cmds {
			cmds[i] = p.command("token")
		}
		start := time.Now()
		outs := runAll(t, cmds)
		t.Logf("round %d: %v", round, time.Since(start))

		tok, _ := p.load()
		for i, o := range outs {
			if o.code != 0 || o.stderr != "" {
				t.Errorf("round %d, process %d: %s", round, i, o)
			}
			if o.stdout != tok.AccessToken+"\n" {
				t.Errorf("round %d, process %d printed another token than the one saved (values hidden)", round, i)
			}
		}
		if got := p.srv.Count("refresh_token"); got != round {
			t.Errorf("round %d: endpoint saw %d refresh requests in all, want %d (one per round)", round, got, round)
		}
		if got := p.srv.Count("password"); got != 1 {
			t.Errorf("round %d: endpoint saw %d password grants, want 1 (the first bootstrap only)", round, got)
		}
		if !p.srv.ValidAccessToken(tok.AccessToken) || !p.srv.ValidRefreshToken(tok.RefreshToken) {
			t.Errorf("round %d: the saved tokens are not the endpoint's live ones", round)
		}
	}
	if extra := p.leftovers(); len(extra) > 0 {
		t.Errorf("left in %s: %q", p.dir, extra)
	}
}

// testStampedeMixed: `token`, `refresh` and `refresh --force` at once. --force
// renews unless the token on disk was obtained after that caller was asked,
// so several force callers may each renew in turn; what must never happen is
// a refresh token sent twice (the endpoint would refuse it, and tokenkeeper
// would fall back to a bootstrap) or a caller left without a token.
func testStampedeMixed(t *testing.T, bin string) {
	if testing.Short() {
		t.Skip("starts fifty processes")
	}
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	p.expire()
	slowFirst(p)
	kinds := [][]string{{"token"}, {"refresh"}, {"refresh", "--force"}}
	cmds := make([]*exec.Cmd, stampede)
	forced := 0
	for i := range cmds {
		args := kinds[i%len(kinds)]
		if len(args) == 2 {
			forced++
		}
		cmds[i] = p.command(args...)
	}
	outs := runAll(t, cmds)

	for i, o := range outs {
		args := strings.Join(kinds[i%len(kinds)], " ")
		if o.code != 0 {
			t.Errorf("process %d (%s): %s", i, args, o)
		}
		if strings.Contains(o.stderr, "refused") || strings.Contains(o.stderr, "bootstrapped") {
			t.Errorf("process %d (%s) saw a refusal or bootstrapped:\n%s", i, args, o.stderr)
		}
		if args == "token" && !p.srv.ValidAccessToken(strings.TrimSpace(o.stdout)) {
			t.Errorf("process %d (token) printed a token the endpoint does not know (value hidden)", i)
		}
	}
	refreshes := p.srv.Count("refresh_token")
	if refreshes < 1 || refreshes > forced+1 {
		t.Errorf("endpoint saw %d refresh requests, want 1 to %d (one, plus at most one per --force caller)", refreshes, forced+1)
	}
	if got := p.srv.Count("password"); got != 1 {
		t.Errorf("endpoint saw %d password grants, want 1 (the first bootstrap only)", got)
	}
	tok, _ := p.load()
	if !p.srv.ValidRefreshToken(tok.RefreshToken) {
		t.Errorf("the saved refresh token is not the endpoint's live one: the chain of rotations broke")
	}
	t.Logf("%d processes (%d with --force): %d refresh requests", stampede, forced, refreshes)
}

// testCorruptStampede: fifty `tokenkeeper token` find a torn token file at
// once (as an editor or another tool may leave one). Exactly one of them moves
// it aside — kept for a human to look at — and bootstraps; the others wait on
// the lock and take its token.
func testCorruptStampede(t *testing.T, bin string) {
	if testing.Short() {
		t.Skip("starts fifty processes")
	}
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	torn := []byte(`{"access_token": "at-torn", "refresh_tok`)
	if err := os.WriteFile(p.tokenFile(), torn, 0o600); err != nil {
		t.Fatal(err)
	}
	slowFirst(p)
	cmds := make([]*exec.Cmd, stampede)
	for i := range cmds {
		cmds[i] = p.command("token")
	}
	outs := runAll(t, cmds)

	tok, _ := p.load()
	warned := 0
	for i, o := range outs {
		if o.code != 0 || o.stdout != tok.AccessToken+"\n" {
			t.Errorf("process %d: %s(stdout: the saved token: %v)", i, o, o.stdout == tok.AccessToken+"\n")
		}
		if strings.Contains(o.stderr, "is not a valid token file") {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("%d processes warned about the torn file, want 1", warned)
	}
	if got := p.srv.Count(""); got != 1 {
		t.Errorf("endpoint saw %d requests, want 1 bootstrap", got)
	}
	extra := p.leftovers()
	if len(extra) != 1 || !strings.HasPrefix(extra[0], storage.TokenFileName+".corrupt-") {
		t.Fatalf("left in %s: %q; want one %s.corrupt-* file", p.dir, extra, storage.TokenFileName)
	}
	if got, _ := os.ReadFile(p.path(extra[0])); !bytes.Equal(got, torn) {
		t.Errorf("%s: got %q, want the torn file as it was", extra[0], got)
	}
}

// BenchmarkStampede is the wall time of N concurrent `tokenkeeper token` on
// an expired access token (one refresh, the other N-1 wait on the lock or find
// the new token), against one caller doing the same refresh alone, and
// against N callers that find a valid token (no lock, no request: the cost of
// starting N processes on this machine):
//
//	go test -run '^$' -bench Stampede -benchtime 20x -count 5
func BenchmarkStampede(b *testing.B) {
	bin := buildTokenkeeper(b)
	for _, bc := range []struct {
		n       int
		expired bool
	}{{1, true}, {stampede, true}, {stampede, false}} {
		b.Run(fmt.Sprintf("callers=%d/expired=%v", bc.n, bc.expired), func(b *testing.B) {
			p := newProfile(b, bin, b.TempDir(), fakeserver.Options{Rotate: true})
			p.mustRun("refresh")
			for b.Loop() {
				b.StopTimer()
				if bc.expired {
					p.expire()
				}
				cmds := make([]*exec.Cmd, bc.n)
				for i := range cmds {
					cmds[i] = p.command("token")
				}
				b.StartTimer()
				for i, o := range runAll(b, cmds) {
					if o.code != 0 {
						b.Fatalf("process %d: %s", i, o)
					}
				}
			}
			want := 0
			if bc.expired {
				want = b.N
			}
			if got := p.srv.Count("refresh_token"); got != want {
				b.Errorf("%d refresh requests, want %d", got, want)
			}
		})
	}
}

// testLockBusy: while another process holds the profile's lock, a renewal
// waits --lock-timeout, then exits 75 naming the lock file and its holder,
// with a hint, and sends nothing; the lock file stays. A valid token is
// still handed out meanwhile: that path takes no lock.
func testLockBusy(t *testing.T, bin string) {
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	p.mustRun("refresh")
	holder := fmt.Sprintf("pid=%d cmd=stress-test-holder since=%s", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	lock, err := storage.AcquireLock(context.Background(), p.lockFile(), 0, holder)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()

	if o := p.mustRun("token"); o.stderr != "" {
		t.Errorf("token with a valid token on disk, lock held: stderr %q, want none", o.stderr)
	}
	sent := p.srv.Count("")
	// status's metrics (node_exporter's textfile, a watch's scrape) take no
	// lock: they answer while another process holds it, with no request.
	if o := p.run(p.command("--lock-timeout", "300ms", "status", "-o", "prometheus")); o.code != 0 ||
		!strings.Contains(o.stdout, `tokenkeeper_grant_state{profile="default",state="ok"} 1`) {
		t.Errorf("status -o prometheus with the lock held: %s; want exit 0 and the grant ok\n%s", o, o.stdout)
	}
	o := p.run(p.command("--lock-timeout", "300ms", "refresh", "--force"))
	if o.code != 75 {
		t.Errorf("refresh --force with the lock held: %s; want exit 75", o)
	}
	msg := regexp.MustCompile(`(?m)^tokenkeeper: storage: lock busy: ` + regexp.QuoteMeta(p.lockFile()) +
		` held by pid=\d+ cmd=stress-test-holder since=\S+ \(waited \d+ms\)$`)
	hint := "tokenkeeper: hint: another process is renewing this profile's token; run again shortly, or raise --lock-timeout\n"
	if !msg.MatchString(o.stderr) || !strings.Contains(o.stderr, hint) {
		t.Errorf("stderr:\n%s\nwant to match %s\nand %q", o.stderr, msg, hint)
	}
	if got := p.srv.Count(""); got != sent {
		t.Errorf("the endpoint saw %d requests while the lock was held, want none", got-sent)
	}
	if _, err := os.Stat(p.lockFile()); err != nil {
		t.Errorf("lock file: %v; want it kept", err)
	}

	if err := lock.Unlock(); err != nil {
		t.Fatal(err)
	}
	p.mustRun("--lock-timeout", "300ms", "refresh", "--force")
	if got := p.srv.Count("refresh_token"); got != 1 {
		t.Errorf("after the lock was released: %d refresh requests, want 1", got)
	}
}
