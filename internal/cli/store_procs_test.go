package cli

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/etcdtest"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/etcd"
)

// TestStoreProcesses runs the built binary as many processes on several
// "hosts" (separate state directories, one credentials.json each) sharing
// one record in a real etcd (docs/contract.md §8).
func TestStoreProcesses(t *testing.T) {
	etcdtest.Binary(t)
	if testing.Short() {
		t.Skip("starts etcd and hundreds of processes")
	}
	runWithBinary(t, []binTest{
		{"Stampede", testStoreStampede},
		{"HolderKilled", testStoreHolderKilled},
		{"LeaderKilled", testStoreLeaderKilled},
		{"StoreDown", testStoreDown},
		{"LostLock", testStoreLostLock},
		{"LostLockDiskFull", testStoreLostLockDiskFull},
		{"LeaseTooShort", testStoreLeaseTooShort},
		{"PendingOverRefused", testStorePendingOverRefused},
		{"FrozenAtSave", testStoreFrozenAtSave},
		{"PushPull", testStorePushPull},
		{"All", testStoreAll},
		{"Watch", testStoreWatch},
		{"Links", testStoreLinks},
		{"Garbage", testStoreGarbage},
		{"BadProfileKeys", testStoreBadProfileKeys},
		{"Auth", testStoreAuth},
		{"CopyOfAnotherStore", testStoreCopyOfAnotherStore},
		{"LockWithoutLease", testStoreLockWithoutLease},
		{"ForeignGeolocation", testStoreForeignGeolocation},
	})
}

// fleet is hosts sharing one profile's record in etcd.
type fleet struct {
	*storeHosts
	cluster *etcdtest.Cluster
	client  *etcd.Client
}

func newFleet(t *testing.T, bin string, hosts, members int) *fleet {
	t.Helper()
	c := etcdtest.Start(t, members)
	f := &fleet{storeHosts: newStoreHosts(t, bin, c.URL("/fleet"), hosts), cluster: c}
	cfg, err := etcd.ParseURL(f.url)
	if err != nil {
		t.Fatal(err)
	}
	if f.client, err = etcd.NewClient(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.client.Close)
	return f
}

const recordKey = "/fleet/default/record"

// copyFile is the read copy in the state directory dir.
func (f *fleet) copyFile(dir string) string {
	return filepath.Join(dir, etcdCopyName(f.client.Config()))
}

// record is the token record in etcd.
func (f *fleet) record() (*refresh.Token, []byte) {
	f.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, _, err := f.client.Get(ctx, recordKey)
	if err != nil || kv == nil {
		f.tb.Fatalf("record in etcd: %v, %v", kv, err)
	}
	tok, err := refresh.ParseFile(kv.Value)
	if err != nil {
		f.tb.Fatalf("record in etcd does not parse: %v", err)
	}
	return tok, kv.Value
}

// expire makes the record, in etcd and in every host's read copy, look as
// if its access token had run out an hour ago.
func (f *fleet) expire() {
	f.tb.Helper()
	_, data := f.record()
	out := expired(f.tb, data)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.client.Put(ctx, etcd.PutRequest{Key: []byte(recordKey), Value: out}); err != nil {
		f.tb.Fatal(err)
	}
	for _, h := range f.hosts {
		if err := storage.WriteFile(f.copyFile(h), out); err != nil {
			f.tb.Fatal(err)
		}
	}
}

// testStoreStampede: fifty `token` across five hosts on an expired token send
// one refresh request, and all print the same token, the one in etcd.
func testStoreStampede(t *testing.T, bin string) {
	f := newFleet(t, bin, 5, 1)
	f.mustRunOn(0, "refresh")
	for round := 1; round <= 2; round++ {
		f.expire()
		slowFirst(f.profile)
		cmds := make([]*exec.Cmd, stampede)
		for i := range cmds {
			cmds[i] = f.cmd(i%len(f.hosts), "token")
		}
		outs := runAll(t, cmds)
		tok, _ := f.record()
		for i, o := range outs {
			if o.code != 0 || o.stderr != "" {
				t.Errorf("round %d, process %d (host %d): %s", round, i, i%len(f.hosts), o)
			}
			if o.stdout != tok.AccessToken+"\n" {
				t.Errorf("round %d, process %d printed another token than etcd's (values hidden)", round, i)
			}
		}
		if got := f.srv.Count("refresh_token"); got != round {
			t.Errorf("round %d: endpoint saw %d refresh requests in all, want %d", round, got, round)
		}
		if got := f.srv.Count("password"); got != 1 {
			t.Errorf("round %d: %d password grants, want 1", round, got)
		}
		if !f.srv.ValidRefreshToken(tok.RefreshToken) {
			t.Errorf("round %d: etcd's refresh token is not the endpoint's live one", round)
		}
	}
	for h, dir := range f.hosts {
		if _, err := os.Stat(filepath.Join(dir, storage.TokenFileName)); err == nil {
			t.Errorf("host %d has a token file: the record must live in etcd only", h)
		}
	}
}

// testStoreHolderKilled: a holder killed -9 at a random instant of a forced
// refresh frees the lock within its lease's TTL (the next host's run, with a
// lock timeout just above the TTL, gets it), and no refresh token is sent
// twice: a bootstrap happens only when the endpoint rotated a token whose
// successor died with the killed process, as with the file store.
func testStoreHolderKilled(t *testing.T, bin string) {
	f := newFleet(t, bin, 2, 1)
	// TTL = min(--timeout + 15 s, --lock-timeout - 1 s) = 3 s.
	f.extra = []string{"--timeout", "2s", "--lock-timeout", "4s"}
	f.mustRunOn(0, "refresh")
	var lost, bootstraps int
	for i := range 8 {
		before, _ := f.record()
		// Every other run, the endpoint rotates at once but answers a second
		// later (a slow network); the kill comes at 0–1.2 s: before the
		// lock, while it is held before the request, during the request
		// (a rotation lost with the process), or after the save.
		slow := i%2 == 0
		f.slowAnswer.Store(slow)
		cmd := f.cmd(0, "refresh", "--force")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(rand.N(1200 * time.Millisecond))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		f.settle()
		f.slowAnswer.Store(false)
		after, _ := f.record()
		if after.RefreshToken == before.RefreshToken && !f.srv.ValidRefreshToken(after.RefreshToken) {
			lost++
		}
		o := f.mustRunOn(1, "refresh", "--force")
		if strings.Contains(o.stderr, "bootstrapped") || strings.Contains(o.stderr, "refused") {
			bootstraps++
		}
		tok, _ := f.record()
		if !f.srv.ValidAccessToken(tok.AccessToken) || !f.srv.ValidRefreshToken(tok.RefreshToken) {
			t.Fatalf("iteration %d: etcd's tokens are not the endpoint's live ones", i)
		}
	}
	if bootstraps != lost {
		t.Errorf("%d recoveries bootstrapped, want %d (one per rotation lost with a killed process)", bootstraps, lost)
	}
	t.Logf("%d rotations lost to kills, %d bootstraps", lost, bootstraps)
}

// testStoreLeaderKilled: the leader of a 3-member cluster killed; the hosts
// go on renewing through the two others.
func testStoreLeaderKilled(t *testing.T, bin string) {
	f := newFleet(t, bin, 3, 3)
	f.mustRunOn(0, "refresh")
	leader := f.cluster.Leader()
	if leader < 0 {
		t.Fatal("no leader")
	}
	f.cluster.Members[leader].Kill()
	for h := range f.hosts {
		f.mustRunOn(h, "refresh", "--force")
		// The next host may serve its read copy, still valid: any token the
		// endpoint knows will do.
		o := f.mustRunOn((h+1)%len(f.hosts), "token")
		if !f.srv.ValidAccessToken(strings.TrimSpace(o.stdout)) {
			t.Errorf("host %d printed a token the endpoint does not know", (h+1)%len(f.hosts))
		}
	}
	if got := f.srv.Count("password"); got != 1 {
		t.Errorf("%d password grants, want 1", got)
	}
}

// testStoreDown: with every member gone, a valid read copy is served (with a
// warning when it had to be renewed), an expired one is exit 75, within
// --timeout.
func testStoreDown(t *testing.T, bin string) {
	f := newFleet(t, bin, 2, 1)
	f.extra = []string{"--timeout", "2s"}
	f.mustRunOn(0, "refresh")
	f.mustRunOn(1, "token") // host 1 gets its copy
	tok, _ := f.record()
	if o := f.mustRunOn(1, "status"); !strings.Contains(o.stdout, "reachable (") || !strings.Contains(o.stdout, "/fleet/default/record") {
		t.Errorf("status with etcd up does not show the store and its health:\n%s", o.stdout)
	}
	f.cluster.Members[0].Kill()
	if o := f.mustRunOn(1, "status"); !strings.Contains(o.stdout, "unreachable") {
		t.Errorf("status with etcd down (a valid copy: exit 0) does not say the store is unreachable:\n%s", o.stdout)
	}
	o := f.mustRunOn(1, "token")
	if o.stdout != tok.AccessToken+"\n" || o.stderr != "" {
		t.Errorf("token from a valid copy with etcd down: %s", o)
	}
	// --min-valid beyond the token's life: it must be renewed, which
	// needs etcd; the still-valid token is served with a warning.
	o = f.mustRunOn(1, "token", "--min-valid", "100h")
	if o.stdout != tok.AccessToken+"\n" || !strings.Contains(o.stderr, "warning") {
		t.Errorf("token --min-valid with etcd down: want the token and a warning; %s", o)
	}
	var rec map[string]any
	if err := json.Unmarshal(mustRead(t, f.copyFile(f.hosts[1])), &rec); err != nil {
		t.Fatal(err)
	}
	rec["expires_at"] = "2000-01-01T00:00:00Z"
	expired, _ := json.Marshal(rec)
	if err := storage.WriteFile(f.copyFile(f.hosts[1]), expired); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	o = f.run(f.cmd(1, "token"))
	if o.code != exitTemp || o.stdout != "" {
		t.Errorf("token on an expired copy with etcd down: got %s, want exit 75 and no token", o)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("gave up after %s; want within about --timeout (2s)", took)
	}
	if f.srv.Count("refresh_token") != 0 {
		t.Errorf("a refresh request was sent without the lock")
	}
}

// testStoreLostLock: the holder's lease is revoked while its refresh request
// is at the endpoint (as when etcd lost track of a paused or partitioned
// holder): its save is refused — nothing is written to etcd — and exits 75;
// the answer, whose refresh token the endpoint has rotated, is kept in the
// host's pending file and pushed by that host's next run, so the grant
// survives without a bootstrap.
func testStoreLostLock(t *testing.T, bin string) {
	f := newFleet(t, bin, 2, 1)
	f.extra = []string{"--timeout", "5s", "--lock-timeout", "10s"}
	f.mustRunOn(0, "refresh")
	before, _ := f.record()
	f.srv.Fail(fakeserver.Fault{Delay: time.Second})
	a := f.cmd(0, "refresh", "--force")
	var aout outcome
	done := make(chan struct{})
	go func() { aout = f.run(a); close(done) }()
	for f.inFlight.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	kv, _, err := f.client.Get(ctx, "/fleet/default/lock")
	if err != nil || kv == nil {
		t.Fatalf("lock key while host 0 renews: %v, %v", kv, err)
	}
	if err := f.client.Revoke(ctx, int64(kv.Lease)); err != nil {
		t.Fatal(err)
	}
	<-done
	if aout.code != exitTemp || !strings.Contains(aout.stderr, "lock was lost") {
		t.Errorf("the run whose lock was lost: got %s, want exit 75 naming the lost lock", aout)
	}
	if now, _ := f.record(); now.RefreshToken != before.RefreshToken {
		t.Fatal("a save without the lock was written to etcd")
	}
	if _, err := os.Stat(filepath.Join(f.hosts[0], storePendingName)); err != nil {
		t.Fatalf("no pending file: %v", err)
	}
	f.mustRunOn(0, "token")
	now, _ := f.record()
	if now.RefreshToken == before.RefreshToken || !f.srv.ValidRefreshToken(now.RefreshToken) {
		t.Error("the pending answer was not pushed: etcd's refresh token is not the endpoint's live one")
	}
	if _, err := os.Stat(filepath.Join(f.hosts[0], storePendingName)); err == nil {
		t.Error("the pending file is still there after the push")
	}
	if got := f.srv.Count("password"); got != 1 {
		t.Errorf("%d password grants, want 1: the grant should survive without a bootstrap", got)
	}
	f.mustRunOn(1, "refresh", "--force")
}

// testStoreLeaseTooShort: a lock timeout that makes the lock's lease no
// longer than a token request may take (the lease is the lock timeout less
// 1 s) can never renew: 78, settings to fix, with the lock timeout that
// would do and the command to run then; not 75 and "run again later",
// which cron would do for ever. A lease that merely runs out (a slow
// holder) stays 75.
func testStoreLeaseTooShort(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	f.mustRunOn(0, "refresh")
	sent := f.srv.Count("")
	o := f.run(f.cmd(0, "--lock-timeout", "3s", "refresh", "--force"))
	if o.code != exitConfig || !strings.Contains(o.stderr, "the lock's lease lasts 2s, no longer than a token request may take (30s); nothing was sent") {
		t.Errorf("a lease shorter than the request timeout: %s\nwant exit 78 saying so", o)
	}
	if !strings.Contains(o.stderr, "give a lock timeout above 46s") || !strings.Contains(o.stderr, "; then run tokenkeeper refresh") ||
		strings.Contains(o.stderr, "later") {
		t.Errorf("a lease shorter than the request timeout: %s\nwant the lock timeout that would do, then refresh; not later", o)
	}
	if got := f.srv.Count(""); got != sent {
		t.Errorf("the endpoint saw %d requests, want none", got-sent)
	}
}

// testStorePendingOverRefused: host 0's save is refused (its lease lost
// while its refresh request was out), so the answer, which holds the grant
// the rotating endpoint gave for the refresh token it spent, waits in host
// 0's pending file. Host 1 then renews from the record: its refresh token is
// the spent one, refused, and remembered so; a grant only a person starts
// then needs a login (77). Host 0's next run pushes its pending answer over
// that refusal, not aside as stale: every host renews again, no login.
func testStorePendingOverRefused(t *testing.T, bin string) {
	f := newFleet(t, bin, 2, 1)
	f.extra = []string{"--timeout", "5s", "--lock-timeout", "10s"}
	for _, h := range f.hosts {
		writeCredsFile(t, filepath.Join(h, "credentials.json"), f.srv.TokenURL(), nil)
	}
	f.mustRunOn(0, "refresh")
	for _, h := range f.hosts { // from here on, a grant only a person starts
		writeCredsFile(t, filepath.Join(h, "credentials.json"), f.srv.TokenURL(), map[string]string{
			"grantType": "authorization_code", "authURL": f.srv.URL() + fakeserver.AuthorizePath,
			"companyUUID": "", "companyRequestToken": "", "credentialType": ""})
	}
	f.srv.Fail(fakeserver.Fault{Before: func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		kv, _, err := f.client.Get(ctx, "/fleet/default/lock")
		if err != nil || kv == nil {
			t.Errorf("lock key while host 0 renews: %v, %v", kv, err)
			return
		}
		if err := f.client.Revoke(ctx, int64(kv.Lease)); err != nil {
			t.Error(err)
		}
	}})
	if o := f.run(f.cmd(0, "refresh", "--force")); o.code != exitTemp || !strings.Contains(o.stderr, "will be pushed by the next run") {
		t.Fatalf("host 0, its lock lost: %s; want 75 and the answer pending", o)
	}
	if o := f.run(f.cmd(1, "refresh", "--force")); o.code != exitNeedsHuman {
		t.Fatalf("host 1, renewing with the spent refresh token: %s; want 77", o)
	}
	o := f.mustRunOn(0, "refresh", "--force")
	if !strings.Contains(o.stderr, "was pushed to") || strings.Contains(o.stderr, "stale") {
		t.Errorf("host 0's next run: %s\nwant its pending answer pushed, not set aside", o)
	}
	now, _ := f.record()
	if !f.srv.ValidRefreshToken(now.RefreshToken) {
		t.Error("etcd's refresh token is not the endpoint's live one")
	}
	f.mustRunOn(1, "refresh", "--force")
	if got := f.srv.Count("password"); got != 1 {
		t.Errorf("%d password grants, want the first only", got)
	}
}

// testStoreFrozenAtSave: etcd stops answering while the refresh request is
// out. The save waits its --timeout and fails, the answer is kept pending;
// the lock is then not freed (a revoke the store would not answer either:
// another wait), its lease runs out by itself.
func testStoreFrozenAtSave(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	fz := newFreezer(t, f.cluster.Endpoints())
	f.url = "etcd://" + fz.addr() + "/fleet"
	f.extra = []string{"--timeout", "3s"}
	f.mustRunOn(0, "refresh")
	f.srv.Fail(fakeserver.Fault{Before: fz.freeze})
	o := f.run(f.cmd(0, "refresh", "--force"))
	if o.code != exitTemp || !strings.Contains(o.stderr, "will be pushed by the next run") {
		t.Errorf("a store frozen at the save: %s; want 75 and the answer pending", o)
	}
	if n := fz.count("/v3/lease/revoke"); n != 0 {
		t.Errorf("%d lease revocations sent to the store that did not answer the save, want none", n)
	}
}

// freezer is a TCP proxy to an etcd member that, once frozen, forwards
// nothing more either way: a store that accepts requests and never answers.
// It still reads what clients send, and counts the requests to each path.
type freezer struct {
	ln     net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	sent   []byte // what clients sent since the freeze
}

func newFreezer(t *testing.T, upstream string) *freezer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fz := &freezer{ln: ln}
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			go fz.pipe(u, c, false)
			go fz.pipe(c, u, true)
		}
	}()
	return fz
}

func (fz *freezer) addr() string { return fz.ln.Addr().String() }
func (fz *freezer) freeze()      { fz.frozen.Store(true) }

// pipe copies from src to dst until frozen; then it reads src and drops
// it, keeping what clients send (fromClient).
func (fz *freezer) pipe(src, dst net.Conn, fromClient bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !fz.frozen.Load() {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			} else if fromClient {
				fz.mu.Lock()
				fz.sent = append(fz.sent, buf[:n]...)
				fz.mu.Unlock()
			}
		}
		if err != nil {
			return
		}
	}
}

// count is how many requests to path clients sent since the freeze.
func (fz *freezer) count(path string) int {
	fz.mu.Lock()
	defer fz.mu.Unlock()
	return strings.Count(string(fz.sent), "POST "+path+" ")
}

// testStorePushPull: a host moving onto the store pushes its token file;
// another pulls the record into its file.
func testStorePushPull(t *testing.T, bin string) {
	f := newFleet(t, bin, 2, 1)
	// Host 0 starts with the file store.
	o := f.run(f.profile.command("refresh"))
	if o.code != 0 {
		t.Fatal(o)
	}
	local, _ := f.load()
	f.mustRunOn(0, "store", "push")
	if rec, _ := f.record(); rec.RefreshToken != local.RefreshToken {
		t.Fatal("push: etcd's record is not the token file's")
	}
	if _, err := os.Stat(f.tokenFile()); err == nil {
		t.Error("push left the token file in place: the refresh token would have two homes")
	}
	if m, _ := filepath.Glob(f.tokenFile() + ".pushed-*"); len(m) != 1 {
		t.Errorf("pushed files: %v, want one", m)
	}
	o = f.mustRunOn(1, "token")
	if o.stdout != local.AccessToken+"\n" {
		t.Errorf("host 1 after the push printed another token")
	}
	f.mustRunOn(1, "store", "pull")
	got := mustRead(t, filepath.Join(f.hosts[1], storage.TokenFileName))
	if tok, err := refresh.ParseFile(got); err != nil || tok.RefreshToken != local.RefreshToken {
		t.Errorf("pull: host 1's token file is not etcd's record: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(f.hosts[1], storage.TokenFileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("pulled file: %v, %v", fi, err)
	}
	if f.srv.Count("") != 1 {
		t.Errorf("%d token requests, want the one first refresh", f.srv.Count(""))
	}
}

// testStoreAll: refresh --all and status --all list the profiles whose
// records are under the store's prefix, besides the local ones.
func testStoreAll(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	root := t.TempDir()
	creds := mustRead(t, f.path("credentials.json"))
	for _, name := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(root, "config", name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "config", name, "credentials.json"), creds, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := func(args ...string) *exec.Cmd {
		c := exec.Command(f.bin, append([]string{"--config-dir", filepath.Join(root, "config"), "--state-dir", filepath.Join(root, "state")}, args...)...)
		c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "TOKENKEEPER_STORE=" + f.url}
		return c
	}
	// Profile "elsewhere" has a record in etcd (another host's), no credentials here.
	f.mustRunOn(0, "refresh")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data := f.record()
	if _, err := f.client.Put(ctx, etcd.PutRequest{Key: []byte("/fleet/elsewhere/record"), Value: data}); err != nil {
		t.Fatal(err)
	}
	o := f.run(cmd("refresh", "--all"))
	for _, want := range []string{"elsewhere", "default", "2 renewed"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("refresh --all does not mention %q: %s", want, o)
		}
	}
	if o.code != exitConfig {
		t.Errorf("refresh --all with profiles lacking credentials: exit %d, want 78", o.code)
	}
	for _, name := range []string{"a", "b"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		kv, _, err := f.client.Get(ctx, "/fleet/"+name+"/record")
		cancel()
		if err != nil || kv == nil {
			t.Errorf("profile %s has no record in etcd after refresh --all: %v", name, err)
		}
	}
}

// testStoreWatch: watch on one host sees another host's renewal through an
// etcd watch (no file of its own changes) and takes its token up.
func testStoreWatch(t *testing.T, bin string) {
	f := newFleet(t, bin, 2, 1)
	f.mustRunOn(0, "refresh")
	w := startWatch(t, bin, "--dir", f.hosts[1], "--store", f.url, "--log-format", "json", "watch")
	time.Sleep(500 * time.Millisecond) // let it start its etcd watch
	f.mustRunOn(0, "refresh", "--force")
	w.waitFor(t, "picking up the other host's token", msgContains("picked up a token renewed by another process"), nil)
	tok, _ := f.record()
	if got := mustRead(t, f.copyFile(f.hosts[1])); !strings.Contains(string(got), tok.AccessToken) {
		t.Error("the watching host's read copy is not etcd's record")
	}
	if got := f.srv.Count(""); got != 2 {
		t.Errorf("%d token requests, want 2 (host 0's two runs; watch renews nothing)", got)
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, w.cmd, w.done, 0)
}

// testStoreLinks: the host's read copy and pending file are tokenkeeper's
// own files: a symbolic link planted at either is never followed, neither
// to write the record (its refresh token) somewhere else nor to read a
// record (a token of someone else's choosing) from elsewhere, which a
// pending file would then push to every host.
func testStoreLinks(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	f.mustRunOn(0, "refresh")
	copyFile, pendingFile := f.copyFile(f.hosts[0]), filepath.Join(f.hosts[0], storePendingName)
	outside := t.TempDir()
	plant := func(link, target string) {
		t.Helper()
		if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}

	// Writing: the copy is written on every renewal.
	leak := filepath.Join(outside, "leak.json")
	if err := os.WriteFile(leak, []byte("someone else's file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	plant(copyFile, leak)
	f.run(f.cmd(0, "refresh", "--force"))
	if data, err := os.ReadFile(leak); err != nil || string(data) != "someone else's file\n" {
		t.Errorf("the read copy was written through a link to %s (%d bytes, %v)", leak, len(data), err)
	}

	// Reading: a record of someone else's choosing.
	_, data := f.record()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	m["access_token"] = "EVIL-ACCESS-TOKEN"
	m["expires_at"] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	evil, _ := json.Marshal(m)
	evilCopy := filepath.Join(outside, "copy.json")
	if err := os.WriteFile(evilCopy, evil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(copyFile)
	plant(copyFile, evilCopy)
	if o := f.run(f.cmd(0, "token")); strings.Contains(o.stdout, "EVIL") {
		t.Errorf("token served a record read through a link at %s: %s", copyFile, o)
	}
	os.Remove(copyFile)

	// A pending file behind a link is never pushed into etcd.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, _, err := f.client.Get(ctx, recordKey)
	if err != nil || kv == nil {
		t.Fatal(kv, err)
	}
	pend, _ := json.Marshal(map[string]any{"store": "x", "base_revision": int64(kv.ModRevision), "record": evil})
	evilPending := filepath.Join(outside, "pending.json")
	if err := os.WriteFile(evilPending, pend, 0o600); err != nil {
		t.Fatal(err)
	}
	plant(pendingFile, evilPending)
	f.run(f.cmd(0, "token"))
	if now, _ := f.record(); now.AccessToken == "EVIL-ACCESS-TOKEN" {
		t.Error("a pending file read through a link was pushed into etcd")
	}
}

// testStoreGarbage: a record in etcd that is not a token record (garbage,
// an empty object, deep nesting, a record over the 1 MiB cap) makes token
// fail with a message, in bounded time, never hang or panic.
func testStoreGarbage(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	f.extra = []string{"--timeout", "5s", "--lock-timeout", "10s"}
	for _, v := range []string{
		"not json \x1b[31m",
		"{}",
		`{"access_token":123,"expires_at":[1]}`,
		strings.Repeat("[", 100000),
		`{"access_token":"` + strings.Repeat("A", 1100<<10) + `"}`,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := f.client.Put(ctx, etcd.PutRequest{Key: []byte(recordKey), Value: []byte(v)}); err != nil {
			cancel()
			t.Fatalf("put %.20q: %v", v, err)
		}
		cancel()
		os.Remove(f.copyFile(f.hosts[0]))
		ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, f.bin, "token")
		cmd.Env = f.cmd(0).Env
		o := f.run(cmd)
		hung := ctx.Err() != nil
		cancel()
		if hung || strings.Contains(o.stderr, "panic") || strings.Contains(o.stderr, "internal error") || strings.Contains(o.stderr, "\x1b") {
			t.Errorf("record %.20q: token hung, panicked or printed an escape: %s", v, o)
		}
	}
}

// testStoreBadProfileKeys: keys under the prefix whose profile part is no
// profile name (.., a hidden name, control characters) are not profiles:
// status --all lists the others, as it skips such directories on disk.
func testStoreBadProfileKeys(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	f.mustRunOn(0, "refresh")
	_, data := f.record()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, k := range []string{"/fleet/../record", "/fleet/.hidden/record", "/fleet/x\x1b[2J/record", "/fleet/" + strings.Repeat("n", 300) + "/record"} {
		if _, err := f.client.Put(ctx, etcd.PutRequest{Key: []byte(k), Value: data}); err != nil {
			t.Fatal(err)
		}
	}
	root := t.TempDir()
	cmd := exec.Command(f.bin, "--config-dir", filepath.Join(root, "config"), "--state-dir", filepath.Join(root, "state"), "status", "--all")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "TOKENKEEPER_STORE=" + f.url}
	o := f.run(cmd)
	if strings.Contains(o.stdout+o.stderr, "invalid profile name") || strings.Contains(o.stdout+o.stderr, "hidden") || !strings.Contains(o.stdout+o.stderr, "default") {
		t.Errorf("status --all with keys that name no profile: %s\nstdout:\n%s", o, o.stdout)
	}
}

// testStoreAuth: with etcd's users, the password comes from
// TOKENKEEPER_STORE_PASSWORD and is shown nowhere: not by -v in text or
// JSON, not by status or status --json, not when it is wrong; exec's child
// does not get it.
func testStoreAuth(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	const pw = "etcd-pw-SECRET-9"
	f.cluster.EnableAuth("bot", pw)
	f.url += "?user=bot"
	run := func(password string, args ...string) outcome {
		cmd := f.cmd(0, args...)
		cmd.Env = append(cmd.Env, storePasswordEnv+"="+password)
		return f.run(cmd)
	}
	if o := run(pw, "-v", "refresh"); o.code != 0 {
		t.Fatalf("refresh with the store's user: %s", o)
	}
	for _, args := range [][]string{
		{"-v", "token"}, {"-v", "--log-format", "json", "refresh", "--force"}, {"status"}, {"status", "--json"},
		{"exec", "--", "env"}, {"store", "pull", "--force"},
	} {
		if o := run(pw, args...); strings.Contains(o.stdout+o.stderr, pw) {
			t.Errorf("tokenkeeper %s shows the store's password: %s\nstdout:\n%s", strings.Join(args, " "), o, o.stdout)
		}
	}
	os.Remove(f.copyFile(f.hosts[0]))
	if o := run(pw+"-wrong", "-v", "token"); o.code == 0 || strings.Contains(o.stdout+o.stderr, pw) || !strings.Contains(o.stderr, "authenticate as bot") {
		t.Errorf("token with a wrong store password: %s, want a failure naming the user, not the password", o)
	}
}

// testStoreCopyOfAnotherStore: the read copy of one store (another prefix,
// another cluster) is never served after --store names another: the run
// reads the store it is given, and prints that store's token.
func testStoreCopyOfAnotherStore(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	f.mustRunOn(0, "refresh")
	was, _ := f.record()
	for _, url := range []string{f.cluster.URL("/elsewhere"), etcdtest.Start(t, 1).URL("/fleet")} {
		f.url = url
		o := f.mustRunOn(0, "token")
		if o.stdout == was.AccessToken+"\n" {
			t.Errorf("--store %s: the read copy of /fleet's record was served", url)
		}
	}
}

// testStoreLockWithoutLease: a lock key put under no lease (by a person, a
// tool) is never freed by etcd: after --lock-timeout the run exits 78 saying
// so and how to delete it, not 75 "run again shortly" for ever; its holder
// text shows no escape.
func testStoreLockWithoutLease(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	f.extra = []string{"--timeout", "2s", "--lock-timeout", "4s"}
	f.mustRunOn(0, "refresh")
	f.expire()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.client.Put(ctx, etcd.PutRequest{Key: []byte("/fleet/default/lock"), Value: []byte("maintenance \x1b[31m" + strings.Repeat("x", 1<<20))}); err != nil {
		t.Fatal(err)
	}
	o := f.run(f.cmd(0, "token"))
	if o.code != exitConfig || !strings.Contains(o.stderr, "under no lease") || !strings.Contains(o.stderr, "etcdctl del /fleet/default/lock") ||
		strings.Contains(o.stderr, "\x1b") || strings.Contains(o.stderr, "shortly") || len(o.stderr) > 2000 {
		t.Errorf("token behind a lock key with no lease: want 78 naming it and etcdctl del; %s", o)
	}
	if f.srv.Count("refresh_token") != 0 {
		t.Errorf("a refresh request was sent without the lock")
	}
}

// testStoreForeignGeolocation: a record whose geolocation another writer of
// the store made into shell text is no API base: token -o env and -o json,
// and exec's child, are not given one (scripts send the access token
// there); status shows it as no URL.
func testStoreForeignGeolocation(t *testing.T, bin string) {
	f := newFleet(t, bin, 1, 1)
	f.mustRunOn(0, "refresh")
	_, data := f.record()
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	rec["geolocation"] = "x'; touch pwned; echo '\x1b[31m"
	out, _ := json.Marshal(rec)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := f.client.Put(ctx, etcd.PutRequest{Key: []byte(recordKey), Value: out}); err != nil {
		t.Fatal(err)
	}
	os.Remove(f.copyFile(f.hosts[0]))
	for _, args := range [][]string{{"token", "-o", "env"}, {"token", "-o", "json"}, {"exec", "--", "sh", "-c", "echo ${TOKENKEEPER_API_BASE-unset}"}} {
		o := f.mustRunOn(0, args...)
		if strings.Contains(o.stdout, "pwned") || strings.Contains(o.stdout, "\x1b") || strings.Contains(o.stdout, "API_BASE") || strings.Contains(o.stdout, "geolocation") {
			t.Errorf("%v handed on the record's geolocation, which is no URL: %q", args, o.stdout)
		}
	}
}
