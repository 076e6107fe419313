package cli

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/kubetest"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// TestKubeProcesses runs the built binary as many processes on several
// "hosts" (separate HOMEs, state directories and kubeconfigs) sharing one
// record in a Secret of a real kube-apiserver, locked by a Lease. The
// subtests run in parallel, each in a namespace of its own, on one API
// server started by the first that needs it; Down, which kills its server,
// has one of its own.
func TestKubeProcesses(t *testing.T) {
	kubetest.Binary(t)
	if testing.Short() {
		t.Skip("starts a kube-apiserver and hundreds of processes")
	}
	var (
		once sync.Once
		api  *kubetest.Server
	)
	shared := func(sub *testing.T) *kubetest.Server {
		once.Do(func() { api = kubetest.Start(parentTB{t, sub}) })
		if api == nil {
			sub.Fatal("the shared kube-apiserver did not start")
		}
		return api.With(sub)
	}
	with := func(f func(*testing.T, string, *kubetest.Server, string), own bool) func(*testing.T, string) {
		return func(t *testing.T, bin string) {
			a := (*kubetest.Server)(nil)
			if own {
				a = kubetest.Start(t)
			} else {
				a = shared(t)
			}
			ns := strings.ToLower(path.Base(t.Name()))
			a.Namespace(ns)
			f(t, bin, a, ns)
		}
	}
	runWithBinary(t, []binTest{
		{"Stampede", with(testKubeStampede, false)},
		{"HolderKilled", with(testKubeHolderKilled, false)},
		{"Forbidden", with(testKubeForbidden, false)},
		{"PushPullAll", with(testKubePushPullAll, false)},
		{"LostLock", with(testKubeLostLock, false)},
		{"Watch", with(testKubeWatch, false)},
		{"Garbage", with(testKubeGarbage, false)},
		{"LeaseNeverFreed", with(testKubeLeaseNeverFreed, false)},
		{"PendingNotPushable", with(testKubePendingNotPushable, false)},
		{"NoUpdate", with(testKubeNoUpdate, false)},
		{"Down", with(testKubeDown, true)}, // it kills its API server
	})
}

// parentTB is the parent test, for what outlives one subtest (the shared
// API server's directories and its end), with the subtest failing when
// starting it fails: a parent's Fatal may not be called from a subtest.
type parentTB struct {
	testing.TB
	sub testing.TB
}

func (p parentTB) Fatal(args ...any)                 { p.sub.Fatal(args...) }
func (p parentTB) Fatalf(format string, args ...any) { p.sub.Fatalf(format, args...) }
func (p parentTB) Skip(args ...any)                  { p.sub.Skip(args...) }
func (p parentTB) Skipf(format string, args ...any)  { p.sub.Skipf(format, args...) }

// kfleet is hosts sharing one profile's record in a namespace.
type kfleet struct {
	*storeHosts
	api *kubetest.Server
	ns  string
}

// newKfleet makes the hosts; even hosts find their kubeconfig at
// ~/.kube/config, odd ones through KUBECONFIG. token is the account's
// bearer token ("" the admin's).
func newKfleet(t *testing.T, bin string, api *kubetest.Server, ns string, hosts int, token string) *kfleet {
	t.Helper()
	f := &kfleet{storeHosts: newStoreHosts(t, bin, "k8s://"+ns+"/fleet", hosts), api: api, ns: ns}
	for h, dir := range f.hosts {
		if h%2 == 0 {
			api.Kubeconfig(filepath.Join(dir, ".kube", "config"), token, ns)
		} else {
			f.env[h] = []string{"KUBECONFIG=" + api.Kubeconfig(filepath.Join(dir, "kubeconfig-"+ns), token, ns)}
		}
	}
	return f
}

// allCmd is tokenkeeper on host h over a config root (one profile,
// "default", with the fleet's credentials) rather than --dir, for --all.
func (f *kfleet) allCmd(h int, args ...string) *exec.Cmd {
	f.tb.Helper()
	root := filepath.Join(f.hosts[h], "root")
	if err := os.MkdirAll(filepath.Join(root, "config", "default"), 0o700); err != nil {
		f.tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "config", "default", "credentials.json"), mustRead(f.tb, f.path("credentials.json")), 0o600); err != nil {
		f.tb.Fatal(err)
	}
	cmd := exec.Command(f.bin, append([]string{"--config-dir", filepath.Join(root, "config"), "--state-dir", filepath.Join(root, "state")}, args...)...)
	cmd.Env = f.cmd(h).Env[:1]
	cmd.Env = append(cmd.Env, "HOME="+f.hosts[h], "TOKENKEEPER_STORE="+f.url)
	cmd.Env = append(cmd.Env, f.env[h]...)
	return cmd
}

func (f *kfleet) secretPath(name string) string {
	return "/api/v1/namespaces/" + f.ns + "/secrets/" + name
}

// copyIn is the read copy in a host's state directory, named after the
// namespace and the prefix.
func (f *kfleet) copyIn(dir string) string {
	return filepath.Join(dir, "store-copy.k8s."+f.ns+".fleet.json")
}

// leaseHolder is the Lease fleet-default's holderIdentity ("" when free or
// missing).
func (f *kfleet) leaseHolder() string {
	var l struct {
		Spec struct {
			HolderIdentity string `json:"holderIdentity"`
		} `json:"spec"`
	}
	if code, b := f.api.Do("GET", "/apis/coordination.k8s.io/v1/namespaces/"+f.ns+"/leases/fleet-default", nil); code == 200 {
		_ = json.Unmarshal(b, &l)
	}
	return l.Spec.HolderIdentity
}

// record is the token record in the Secret fleet-default.
func (f *kfleet) record() (*refresh.Token, []byte) {
	f.tb.Helper()
	var s struct {
		Data map[string][]byte `json:"data"`
	}
	if err := json.Unmarshal(f.api.Must("GET", f.secretPath("fleet-default"), nil), &s); err != nil {
		f.tb.Fatal(err)
	}
	tok, err := refresh.ParseFile(s.Data["record"])
	if err != nil {
		f.tb.Fatalf("the Secret's record does not parse: %v", err)
	}
	return tok, s.Data["record"]
}

// expire makes the record, in the Secret and in every host's read copy,
// look as if its access token had run out an hour ago.
func (f *kfleet) expire() {
	f.tb.Helper()
	_, data := f.record()
	out := expired(f.tb, data)
	f.api.Must("PATCH", f.secretPath("fleet-default"), map[string]any{"data": map[string]any{"record": out}})
	for _, h := range f.hosts {
		if err := storage.WriteFile(f.copyIn(h), out); err != nil {
			f.tb.Fatal(err)
		}
	}
}

// testKubeStampede: `token` processes across five hosts on an expired token
// send one refresh request, and all print the Secret's token.
func testKubeStampede(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 5, "")
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
				t.Errorf("round %d, process %d printed another token than the Secret's (values hidden)", round, i)
			}
		}
		if got := f.srv.Count("refresh_token"); got != round {
			t.Errorf("round %d: endpoint saw %d refresh requests in all, want %d", round, got, round)
		}
		if !f.srv.ValidRefreshToken(tok.RefreshToken) {
			t.Errorf("round %d: the Secret's refresh token is not the endpoint's live one", round)
		}
	}
	for h, dir := range f.hosts {
		if _, err := os.Stat(filepath.Join(dir, storage.TokenFileName)); err == nil {
			t.Errorf("host %d has a token file: the record must live in the Secret only", h)
		}
	}
	// status names the store, its health and the Lease (free now).
	o := f.mustRunOn(1, "status")
	for _, want := range []string{"k8s://" + ns + "/secrets/fleet-default", "reachable (", "lock free", "record at resourceVersion"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("status does not show %q:\n%s", want, o.stdout)
		}
	}
}

// testKubeHolderKilled: a holder killed -9 at a random instant of a forced
// refresh leaves its Lease held; the next host's run, with a lock timeout
// above the Lease's duration, takes it over once it has expired, and no
// refresh token is lost: a bootstrap happens only when the endpoint rotated
// a token whose successor died with the killed process.
func testKubeHolderKilled(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 2, "")
	// Lease = min(--timeout + 15 s, --lock-timeout - 1 s) = 4 s.
	f.extra = []string{"--timeout", "3s", "--lock-timeout", "5s"}
	f.mustRunOn(0, "refresh")
	var lost, bootstraps, takeovers int
	for i := range 6 {
		before, _ := f.record()
		slow := i%2 == 0
		f.slowAnswer.Store(slow)
		cmd := f.cmd(0, "refresh", "--force")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// Once for certain: killed while it holds the Lease.
			for deadline := time.Now().Add(20 * time.Second); f.leaseHolder() == ""; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("the refresh never took the Lease")
				}
			}
		} else {
			time.Sleep(rand.N(1500 * time.Millisecond))
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		f.settle()
		f.slowAnswer.Store(false)
		after, _ := f.record()
		if after.RefreshToken == before.RefreshToken && !f.srv.ValidRefreshToken(after.RefreshToken) {
			lost++
		}
		held := f.leaseHolder() != ""
		if held {
			takeovers++
			// status names the killed holder: its pid and its host.
			if o := f.run(f.cmd(1, "status")); !strings.Contains(o.stdout, "lock held by pid=") || !strings.Contains(o.stdout, " on ") {
				t.Errorf("status while a killed holder's Lease runs does not name it:\n%s", o.stdout)
			}
		}
		// Host 1 waits longer than the Lease host 0 took: a loaded machine
		// must not turn the takeover into a timeout.
		o := f.mustRunOn(1, "--lock-timeout", "15s", "refresh", "--force")
		if held && f.leaseHolder() != "" {
			t.Errorf("iteration %d: the Lease is still held after host 1's run", i)
		}
		if strings.Contains(o.stderr, "bootstrapped") || strings.Contains(o.stderr, "refused") {
			bootstraps++
		}
		tok, _ := f.record()
		if !f.srv.ValidAccessToken(tok.AccessToken) || !f.srv.ValidRefreshToken(tok.RefreshToken) {
			t.Fatalf("iteration %d: the Secret's tokens are not the endpoint's live ones", i)
		}
	}
	if bootstraps != lost {
		t.Errorf("%d recoveries bootstrapped, want %d (one per rotation lost with a killed process)", bootstraps, lost)
	}
	if takeovers == 0 {
		t.Error("no Lease was left held by a killed process: the takeover was not tested")
	}
	t.Logf("%d rotations lost to kills, %d bootstraps, %d Leases taken over after their holder was killed", lost, bootstraps, takeovers)
}

// testKubeForbidden: a service account whose Role is limited to one
// namespace works there and is told plainly, exit 78, elsewhere.
func testKubeForbidden(t *testing.T, bin string, api *kubetest.Server, ns string) {
	tok := api.ServiceAccount(ns, "tokenkeeper", []kubetest.Rule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create", "update"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	})
	f := newKfleet(t, bin, api, ns, 2, tok)
	f.mustRunOn(0, "refresh")
	if o := f.mustRunOn(1, "token"); !f.srv.ValidAccessToken(strings.TrimSpace(o.stdout)) {
		t.Errorf("host 1 printed a token the endpoint does not know")
	}
	api.Namespace(ns + "-other")
	f.url = "k8s://" + ns + "-other/fleet"
	// Host 1's read copy is of the other namespace's Secret: never served
	// for this one.
	o := f.run(f.cmd(1, "token"))
	// The lifecycle meets the Lease or the Secret first: either is named.
	if o.code != exitConfig || !strings.Contains(o.stderr, "RBAC forbids get on ") || !strings.Contains(o.stderr, "fleet-default in namespace "+ns+"-other") ||
		!strings.Contains(o.stderr, "kubectl auth can-i get ") {
		t.Errorf("token in a namespace the account may not use: got %s, want exit 78 naming the verb and the resource", o)
	}
	if strings.Contains(o.stderr, tok) {
		t.Error("the service account's token was printed")
	}
	// refresh --all may not list Secrets with a Role that names them: the
	// local profile is renewed, without a warning (the guide's CronJob
	// would repeat it every run); -v says what was left out, and so does a
	// warning when there is no local profile at all.
	f.url = "k8s://" + ns + "/fleet"
	o = f.run(f.allCmd(1, "refresh", "--all"))
	if o.code != 0 || strings.Contains(o.stderr, "warning") {
		t.Errorf("refresh --all without list: got %s, want exit 0 and no warning", o)
	}
	o = f.run(f.allCmd(1, "-v", "refresh", "--all"))
	if o.code != 0 || !strings.Contains(o.stderr, "RBAC forbids list on secrets") {
		t.Errorf("refresh -v --all without list: got %s, want exit 0 and the refusal logged", o)
	}
	noLocal := f.allCmd(1, "status", "--all")
	noLocal.Args[2], noLocal.Args[4] = filepath.Join(f.hosts[1], "empty-config"), filepath.Join(f.hosts[1], "empty-state")
	if o := f.run(noLocal); !strings.Contains(o.stderr, "warning: kubernetes: RBAC forbids list on secrets") {
		t.Errorf("status --all without list and no local profile: got %s, want a warning naming list", o)
	}
}

// testKubePushPullAll: a host moves its token file into the Secret; another
// pulls it into its file; refresh --all lists the Secrets with the prefix.
func testKubePushPullAll(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 2, "")
	o := f.run(f.profile.command("refresh"))
	if o.code != 0 {
		t.Fatal(o)
	}
	local, _ := f.load()
	f.mustRunOn(0, "store", "push")
	if rec, _ := f.record(); rec.RefreshToken != local.RefreshToken {
		t.Fatal("push: the Secret's record is not the token file's")
	}
	if _, err := os.Stat(f.tokenFile()); err == nil {
		t.Error("push left the token file in place: the refresh token would have two homes")
	}
	if o := f.mustRunOn(1, "token"); o.stdout != local.AccessToken+"\n" {
		t.Errorf("host 1 after the push printed another token")
	}
	// Another profile's Secret (another host's), and one of another prefix.
	_, data := f.record()
	for _, name := range []string{"fleet-elsewhere", "other-x"} {
		api.Must("POST", "/api/v1/namespaces/"+ns+"/secrets", map[string]any{"apiVersion": "v1", "kind": "Secret",
			"metadata": map[string]any{"name": name, "labels": map[string]string{"tokenkeeper/prefix": strings.SplitN(name, "-", 2)[0]}},
			"data":     map[string]any{"record": data}})
	}
	o = f.run(f.allCmd(1, "status", "--all"))
	if !strings.Contains(o.stdout+o.stderr, "elsewhere") || strings.Contains(o.stdout+o.stderr, "other-x") {
		t.Errorf("status --all does not list the prefix's Secrets alone: %s\n%s", o, o.stdout)
	}
	f.mustRunOn(1, "store", "pull")
	got := mustRead(t, filepath.Join(f.hosts[1], storage.TokenFileName))
	if tok, err := refresh.ParseFile(got); err != nil || tok.RefreshToken != local.RefreshToken {
		t.Errorf("pull: host 1's token file is not the Secret's record: %v", err)
	}
	if code, _ := api.Do("GET", f.secretPath("fleet-default"), nil); code != 404 {
		t.Errorf("after pull the Secret fleet-default is still there (%d)", code)
	}
	if f.srv.Count("") != 1 {
		t.Errorf("%d token requests, want the one first refresh", f.srv.Count(""))
	}
}

// testKubeDown: with the API server killed, a valid read copy is served, an
// expired one is exit 75, within --timeout.
func testKubeDown(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 2, "")
	f.extra = []string{"--timeout", "2s"}
	f.mustRunOn(0, "refresh")
	f.mustRunOn(1, "token") // host 1 gets its copy
	tok, _ := f.record()
	api.Kill()
	if o := f.mustRunOn(1, "status"); !strings.Contains(o.stdout, "unreachable") {
		t.Errorf("status with the API server down does not say so:\n%s", o.stdout)
	}
	if o := f.mustRunOn(1, "token"); o.stdout != tok.AccessToken+"\n" || o.stderr != "" {
		t.Errorf("token from a valid copy with the API server down: %s", o)
	}
	var rec map[string]any
	if err := json.Unmarshal(mustRead(t, f.copyIn(f.hosts[1])), &rec); err != nil {
		t.Fatal(err)
	}
	rec["expires_at"] = "2000-01-01T00:00:00Z"
	expired, _ := json.Marshal(rec)
	if err := storage.WriteFile(f.copyIn(f.hosts[1]), expired); err != nil {
		t.Fatal(err)
	}
	// A hang is caught by the context; how long it took is logged, not
	// asserted (a loaded machine).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.bin, append(append([]string{}, f.extra...), "token")...)
	cmd.Env = f.cmd(1).Env
	start := time.Now()
	o := f.run(cmd)
	t.Logf("token on an expired copy with the API server down gave up after %s (--timeout 2s)", time.Since(start).Round(time.Millisecond))
	if o.code != exitTemp || o.stdout != "" {
		t.Errorf("token on an expired copy with the API server down: got %s, want exit 75 and no token", o)
	}
	if f.srv.Count("refresh_token") != 0 {
		t.Errorf("a refresh request was sent without the lock")
	}
}

// testKubeWatch: watch on one host sees another host's renewal through a
// watch of the Secret (no file of its own changes) and takes its token up.
func testKubeWatch(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 2, "")
	f.mustRunOn(0, "refresh")
	w := startWatchCmd(t, f.cmd(1, "--log-format", "json", "watch"))
	time.Sleep(time.Second) // let it start its watch
	f.mustRunOn(0, "refresh", "--force")
	w.waitFor(t, "picking up the other host's token", msgContains("picked up a token renewed by another process"), nil)
	tok, _ := f.record()
	if got := mustRead(t, f.copyIn(f.hosts[1])); !strings.Contains(string(got), tok.AccessToken) {
		t.Error("the watching host's read copy is not the Secret's record")
	}
	if got := f.srv.Count(""); got != 2 {
		t.Errorf("%d token requests, want 2 (host 0's two runs; watch renews nothing)", got)
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, w.cmd, w.done, 0)
}

// testKubeLostLock: the holder's Lease is taken over while its refresh
// request is at the endpoint (as when a paused or partitioned holder's
// Lease ran out): its save is refused — the Secret is not written — and it
// exits 75; the answer, whose refresh token the endpoint has rotated, is
// kept in the host's pending file and pushed by that host's next run once
// the taker's Lease has expired, so the grant survives without a bootstrap.
func testKubeLostLock(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 2, "")
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
	// Another holder takes the Lease over (a one-second one, never renewed).
	leasePath := "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases/fleet-default"
	var l map[string]any
	if err := json.Unmarshal(api.Must("GET", leasePath, nil), &l); err != nil {
		t.Fatal(err)
	}
	l["spec"].(map[string]any)["holderIdentity"] = "pid=1 thief"
	l["spec"].(map[string]any)["leaseDurationSeconds"] = 1
	api.Must("PUT", leasePath, l)
	<-done
	if aout.code != exitTemp || !strings.Contains(aout.stderr, "lock was lost") {
		t.Errorf("the run whose Lease was taken over: got %s, want exit 75 naming the lost lock", aout)
	}
	if now, _ := f.record(); now.RefreshToken != before.RefreshToken {
		t.Fatal("a save without the Lease was written to the Secret")
	}
	if _, err := os.Stat(filepath.Join(f.hosts[0], "store-pending.k8s."+f.ns+".fleet.json")); err != nil {
		t.Fatalf("no pending file: %v", err)
	}
	// The thief is done with the Lease.
	if err := json.Unmarshal(api.Must("GET", leasePath, nil), &l); err != nil {
		t.Fatal(err)
	}
	delete(l["spec"].(map[string]any), "holderIdentity")
	api.Must("PUT", leasePath, l)
	f.mustRunOn(0, "token")
	now, _ := f.record()
	if now.RefreshToken == before.RefreshToken || !f.srv.ValidRefreshToken(now.RefreshToken) {
		t.Error("the pending answer was not pushed: the Secret's refresh token is not the endpoint's live one")
	}
	if _, err := os.Stat(filepath.Join(f.hosts[0], "store-pending.k8s."+f.ns+".fleet.json")); err == nil {
		t.Error("the pending file is still there after the push")
	}
	if got := f.srv.Count("password"); got != 1 {
		t.Errorf("%d password grants, want 1: the grant should survive without a bootstrap", got)
	}
	f.mustRunOn(1, "refresh", "--force")
}

// testKubeGarbage: a Secret whose record is not a token record is set
// aside as a Secret of its own (never deleted) and the profile starts a
// new grant; a record that is hostile text never reaches the terminal.
func testKubeGarbage(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 1, "")
	f.mustRunOn(0, "refresh")
	for _, v := range []string{"not json \x1b[31m", strings.Repeat("[", 100000)} {
		f.api.Must("PATCH", f.secretPath("fleet-default"), map[string]any{"data": map[string]any{"record": []byte(v)}})
		os.Remove(f.copyIn(f.hosts[0]))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, f.bin, "refresh")
		cmd.Env = f.cmd(0).Env
		o := f.run(cmd)
		hung := ctx.Err() != nil
		cancel()
		if hung || o.code != 0 || strings.Contains(o.stderr, "\x1b") || !strings.Contains(o.stderr, "k8s://"+ns+"/secrets/fleet-default.corrupt-") {
			t.Errorf("record %.20q: refresh hung, failed, printed an escape or did not name where the record went: %s", v, o)
		}
		if tok, _ := f.record(); !f.srv.ValidRefreshToken(tok.RefreshToken) {
			t.Errorf("record %.20q: the Secret's record after the new grant is not the endpoint's", v)
		}
	}
	var list struct {
		Items []struct {
			Data map[string][]byte `json:"data"`
		} `json:"items"`
	}
	if err := json.Unmarshal(api.Must("GET", "/api/v1/namespaces/"+ns+"/secrets?labelSelector=tokenkeeper/set-aside%3Dcorrupt", nil), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || string(list.Items[0].Data["record"]) == "" {
		t.Errorf("%d Secrets set aside as corrupt, want 2, each with the record it held", len(list.Items))
	}
}

// testKubeLeaseNeverFreed: a Lease another holder keeps for longer than any
// tokenkeeper would (68 years, its renewTime a year ahead, no acquireTime)
// is not waited out run after run: after --lock-timeout the run exits 78
// saying so and how to delete it, not 75 "run again shortly"; a Lease of a
// second, whatever its renewTime says, runs out by this host's clock.
func testKubeLeaseNeverFreed(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 1, "")
	f.extra = []string{"--timeout", "2s", "--lock-timeout", "4s"}
	f.mustRunOn(0, "refresh")
	f.expire()
	lease := "/apis/coordination.k8s.io/v1/namespaces/" + ns + "/leases/fleet-default"
	ahead := time.Now().AddDate(1, 0, 0).UTC().Format("2006-01-02T15:04:05.000000Z")
	api.Must("PATCH", lease, map[string]any{"spec": map[string]any{"holderIdentity": "maintenance \x1b[31m", "leaseDurationSeconds": 2147483647, "renewTime": ahead, "acquireTime": nil}})
	o := f.run(f.cmd(0, "refresh"))
	if o.code != exitConfig || !strings.Contains(o.stderr, "leaseDurationSeconds 2147483647") ||
		!strings.Contains(o.stderr, "kubectl delete lease fleet-default -n "+ns) || strings.Contains(o.stderr, "\x1b") || strings.Contains(o.stderr, "shortly") {
		t.Errorf("refresh behind a Lease of 68 years: want 78 naming it and kubectl delete; %s", o)
	}
	if f.srv.Count("refresh_token") != 0 {
		t.Errorf("a refresh request was sent without the lock")
	}
	api.Must("PATCH", lease, map[string]any{"spec": map[string]any{"holderIdentity": "gone", "leaseDurationSeconds": 1, "renewTime": ahead}})
	f.mustRunOn(0, "refresh")
	if f.srv.Count("refresh_token") != 1 {
		t.Errorf("after a Lease of 1 s: %d refresh requests, want 1", f.srv.Count("refresh_token"))
	}
}

// testKubePendingNotPushable: the Secret is made immutable by another
// writer, so an answer cannot be saved and stays pending (78: no retry fixes
// it), and every push of it is refused. A later renewal under the lock starts from the pending
// answer, whose refresh token is the live one, never from the Secret's
// record, whose refresh token was spent for it: no spent token is sent
// again, and no new grant replaces the pending one.
func testKubePendingNotPushable(t *testing.T, bin string, api *kubetest.Server, ns string) {
	f := newKfleet(t, bin, api, ns, 1, "")
	f.extra = []string{"--timeout", "2s", "--lock-timeout", "4s"}
	f.mustRunOn(0, "refresh")
	f.expire()
	api.Must("PATCH", f.secretPath("fleet-default"), map[string]any{"immutable": true})
	if o := f.run(f.cmd(0, "refresh")); o.code != exitConfig || !strings.Contains(o.stderr, "kept in") || !strings.Contains(o.stderr, "immutable") ||
		!strings.Contains(o.stderr, "must take updates") {
		t.Fatalf("refresh with an immutable Secret: want 78 saying so and the answer kept; %s", o)
	}
	o := f.run(f.cmd(0, "refresh", "--force"))
	if strings.Contains(o.stderr, "refused") || f.srv.Count("password") != 1 {
		t.Errorf("refresh --force with an answer pending that cannot be pushed: the spent refresh token was sent again or a new grant made (%d password grants): %s",
			f.srv.Count("password"), o)
	}
	var pending struct {
		Record []byte `json:"record"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(f.hosts[0], "store-pending.k8s."+ns+".fleet.json")), &pending); err != nil {
		t.Fatal(err)
	}
	tok, err := refresh.ParseFile(pending.Record)
	if err != nil || !f.srv.ValidRefreshToken(tok.RefreshToken) {
		t.Fatalf("the pending answer does not hold the live refresh token (%v)", err)
	}
	// docs/kubernetes.md's way out: a Secret holding the pending answer.
	api.Must("DELETE", f.secretPath("fleet-default"), nil)
	api.Must("POST", "/api/v1/namespaces/"+ns+"/secrets", map[string]any{"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": "fleet-default"}, "type": "Opaque", "data": map[string]any{"record": pending.Record}})
	if o := f.mustRunOn(0, "token"); o.stdout != tok.AccessToken+"\n" {
		t.Errorf("token after the Secret was replaced with the pending answer: %s", o)
	}
	if m, _ := filepath.Glob(filepath.Join(f.hosts[0], "store-pending.k8s."+ns+".fleet.json*")); len(m) != 1 || !strings.Contains(m[0], ".stale-") {
		t.Errorf("pending files after the Secret was replaced: %v, want the one set aside as stale", m)
	}
}

// testKubeNoUpdate: an account that may create the Secret but not update
// it: the renewed answer is kept pending, and the run exits 78 naming the
// verb RBAC refused and how to check it, not 75 "fix the problem".
func testKubeNoUpdate(t *testing.T, bin string, api *kubetest.Server, ns string) {
	tok := api.ServiceAccount(ns, "tokenkeeper", []kubetest.Rule{
		{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "create"}},
		{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	})
	f := newKfleet(t, bin, api, ns, 1, tok)
	f.mustRunOn(0, "refresh")
	f.expire()
	o := f.run(f.cmd(0, "refresh"))
	if o.code != exitConfig || !strings.Contains(o.stderr, "RBAC forbids update on secrets fleet-default") ||
		!strings.Contains(o.stderr, "kubectl auth can-i update secrets -n "+ns) || !strings.Contains(o.stderr, "kept in") || strings.Contains(o.stderr, tok) {
		t.Errorf("refresh by an account that may not update the Secret: want 78 naming update, the answer kept; %s", o)
	}
}
