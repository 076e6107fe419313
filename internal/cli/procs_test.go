package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Helpers for tests that run the real tokenkeeper binary as many processes at
// once: the cross-process lock, kill -9 and unsavable results can only be
// proved with real processes. Their binary is buildTokenkeeper's, a plain
// build even under go test -race (main_test.go says why).

// TestProcesses runs the tests that need the binary as real processes, as
// subtests sharing one build (go test -run TestProcesses/Stampede runs one).
// The heavy ones are skipped with -short.
func TestProcesses(t *testing.T) {
	runWithBinary(t, []binTest{
		{"Stampede", testStampede},
		{"StampedeMixed", testStampedeMixed},
		{"CorruptStampede", testCorruptStampede},
		{"KillAnywhere", testKillAnywhere},
		{"Unsavable", testUnsavable},
		{"LeftoversFreed", testLeftoversFreed},
		{"DiskFillsDuringRequest", testDiskFillsDuringRequest},
		{"DiskFillsDuringBootstrap", testDiskFillsDuringBootstrap},
		{"LockBusy", testLockBusy},
		{"SignalMidRefresh", testSignalMidRefresh},
	})
}

// binTest is one subtest of a test that shares one build of the binary.
type binTest struct {
	name string
	test func(t *testing.T, bin string)
}

// runWithBinary runs each test as a parallel subtest with the built binary.
// The tests of one group run at once: each has its own directories and
// endpoint, and tells its processes where they are by flag or by the
// child's environment, never by t.Setenv or a working directory.
func runWithBinary(t *testing.T, tests []binTest) {
	t.Parallel()
	bin := buildTokenkeeper(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, bin)
		})
	}
}

// profile is one --dir profile with credentials for a fake endpoint.
type profile struct {
	tb       testing.TB
	bin      string
	dir      string
	srv      *fakeserver.Server
	inFlight atomic.Int64 // token requests the endpoint is still handling
	// slowAnswer makes the endpoint rotate a refresh token at once but send
	// its answer a second later, as a slow network would.
	slowAnswer atomic.Bool
	addr       string    // the endpoint's listening address
	conns      busyConns // its connections that have not finished a request
}

// serve starts the fake endpoint behind a handler that counts requests in
// flight: a killed client does not stop the endpoint, which may rotate a
// refresh token after its client is gone.
func (p *profile) serve(o fakeserver.Options) {
	var srv *fakeserver.Server
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.inFlight.Add(1)
		defer p.inFlight.Add(-1)
		if !p.slowAnswer.Load() {
			srv.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, r)
		time.Sleep(time.Second)
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	ts.Config.ConnState = p.conns.track
	p.addr = ts.Listener.Addr().String()
	o.BaseURL = "http://" + p.addr
	srv = fakeserver.NewHandler(o)
	p.srv = srv
	ts.Start()
	p.tb.Cleanup(func() {
		srv.Close() // ends delays first, so that ts.Close does not wait for them
		ts.Close()
	})
}

// settle waits until the endpoint has finished every request it received,
// and every request a killed process left on the wire: a connection still
// in the listener's queue, or accepted and not yet read, carries a request
// that the endpoint handles (and may rotate a refresh token for) once it
// gets to it, which on a busy machine can be after the process is reaped.
// Two quiet looks in a row: a connection is between the queue and the
// server's count for an instant.
func (p *profile) settle() {
	p.tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for quiet := 0; quiet < 2; time.Sleep(time.Millisecond) {
		quiet++
		if p.inFlight.Load() > 0 || p.conns.busy() > 0 || acceptQueue(p.addr) > 0 {
			quiet = 0
		}
		if time.Now().After(deadline) {
			p.tb.Fatal("the token endpoint is still handling a request after 10s")
		}
	}
}

// busyConns follows a server's connections (http.Server.ConnState): those
// accepted that have not finished a request.
type busyConns struct {
	mu    sync.Mutex
	state map[net.Conn]http.ConnState
}

func (b *busyConns) track(c net.Conn, s http.ConnState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == nil {
		b.state = map[net.Conn]http.ConnState{}
	}
	if s == http.StateClosed || s == http.StateHijacked {
		delete(b.state, c)
	} else {
		b.state[c] = s
	}
}

func (b *busyConns) busy() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, s := range b.state {
		if s == http.StateNew || s == http.StateActive {
			n++
		}
	}
	return n
}

// acceptQueue is how many connections wait in the queue of the listening
// TCP socket on addr (127.0.0.1:PORT), not yet accepted: Linux shows it as
// the rx_queue of the socket in /proc/net/tcp. 0 where that cannot be read.
func acceptQueue(addr string) int {
	_, port, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(port)
	if err != nil {
		return 0
	}
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0
	}
	local := fmt.Sprintf("0100007F:%04X", n) // 127.0.0.1, as /proc/net/tcp prints it
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[1] != local || f[3] != "0A" { // 0A: LISTEN
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		q, _ := strconv.ParseInt(rx, 16, 64)
		return int(q)
	}
	return 0
}

func newProfile(tb testing.TB, bin, dir string, o fakeserver.Options) *profile {
	tb.Helper()
	o.ClientID, o.ClientSecret = fakeClientID, fakeClientSecret
	o.CompanyUUID, o.RequestToken = fakeCompanyUUID, fakeRequestToken
	p := &profile{tb: tb, bin: bin, dir: dir}
	p.serve(o)
	creds := map[string]string{
		"tokenURL": p.srv.TokenURL(), "grantType": "password",
		"appID": fakeClientID, "clientSecret": fakeClientSecret,
		"companyUUID": fakeCompanyUUID, "companyRequestToken": fakeRequestToken,
		"credentialType": "authtoken", "authStyle": "params",
	}
	data, err := json.MarshalIndent(creds, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p.path("credentials.json"), data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func (p *profile) path(name string) string { return filepath.Join(p.dir, name) }
func (p *profile) tokenFile() string       { return p.path(storage.TokenFileName) }
func (p *profile) lockFile() string        { return p.tokenFile() + ".lock" }

// command is tokenkeeper with args in a bare environment that points at the
// profile, as cron would run it.
func (p *profile) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.dir, "TOKENKEEPER_DIR=" + p.dir}
	return cmd
}

// outcome is how one process ended.
type outcome struct {
	code           int
	stdout, stderr string
}

func (o outcome) String() string {
	return fmt.Sprintf("exit %d; stderr:\n%s", o.code, o.stderr)
}

// wait waits for a started command whose output goes to the given buffers.
func wait(cmd *exec.Cmd, stdout, stderr *bytes.Buffer) outcome {
	err := cmd.Wait()
	o := outcome{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
	case err != nil:
		o.code, o.stderr = -1, err.Error()
	}
	return o
}

// run runs one command to its end.
func (p *profile) run(cmd *exec.Cmd) outcome {
	p.tb.Helper()
	return runToEnd(p.tb, cmd)
}

// runToEnd runs one command to its end; one that cannot start fails the test.
func runToEnd(tb testing.TB, cmd *exec.Cmd) outcome {
	tb.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	return wait(cmd, &stdout, &stderr)
}

// mustRun runs tokenkeeper with args and fails unless it exits 0.
func (p *profile) mustRun(args ...string) outcome {
	p.tb.Helper()
	o := p.run(p.command(args...))
	if o.code != 0 {
		p.tb.Fatalf("tokenkeeper %s: %s", strings.Join(args, " "), o)
	}
	return o
}

// runAll starts every command before waiting for any, so that they overlap.
func runAll(tb testing.TB, cmds []*exec.Cmd) []outcome {
	tb.Helper()
	outs := make([]outcome, len(cmds))
	bufs := make([][2]bytes.Buffer, len(cmds))
	for i, cmd := range cmds {
		cmd.Stdout, cmd.Stderr = &bufs[i][0], &bufs[i][1]
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		wg.Go(func() { outs[i] = wait(cmd, &bufs[i][0], &bufs[i][1]) })
	}
	wg.Wait()
	return outs
}

// storeHosts is hosts sharing one profile's record in a store (url), with
// one fake token endpoint: host 0's directory is the profile helper's, each
// other host's has a copy of its credentials.json.
type storeHosts struct {
	*profile
	url   string
	hosts []string
	env   [][]string // more of each host's environment
	extra []string   // more flags for every command
}

func newStoreHosts(t *testing.T, bin, url string, hosts int) *storeHosts {
	t.Helper()
	p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true})
	f := &storeHosts{profile: p, url: url, hosts: []string{p.dir}, env: make([][]string, hosts)}
	creds := mustRead(t, p.path("credentials.json"))
	for range hosts - 1 {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "credentials.json"), creds, 0o600); err != nil {
			t.Fatal(err)
		}
		f.hosts = append(f.hosts, dir)
	}
	return f
}

// cmd is tokenkeeper on host h, in a bare environment as cron runs it.
func (f *storeHosts) cmd(h int, args ...string) *exec.Cmd {
	cmd := exec.Command(f.bin, append(append([]string{}, f.extra...), args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.hosts[h], "TOKENKEEPER_DIR=" + f.hosts[h], "TOKENKEEPER_STORE=" + f.url}
	cmd.Env = append(cmd.Env, f.env[h]...)
	return cmd
}

func (f *storeHosts) mustRunOn(h int, args ...string) outcome {
	f.tb.Helper()
	o := f.run(f.cmd(h, args...))
	if o.code != 0 {
		f.tb.Fatalf("host %d: tokenkeeper %s: %s", h, strings.Join(args, " "), o)
	}
	return o
}

// load reads and parses the token file; a torn or missing file fails the test.
func (p *profile) load() (*refresh.Token, []byte) {
	p.tb.Helper()
	data, err := os.ReadFile(p.tokenFile())
	if err != nil {
		p.tb.Fatalf("token file: %v", err)
	}
	tok, err := refresh.ParseFile(data)
	if err != nil {
		p.tb.Fatalf("token file %s does not parse: %v\n%q", p.tokenFile(), err, data)
	}
	return tok, data
}

// expire rewrites the token file as if its access token had run out an hour
// ago, keeping the refresh token, as a writer holding the lock would.
func (p *profile) expire() {
	p.tb.Helper()
	_, data := p.load()
	if err := storage.WriteFile(p.tokenFile(), expired(p.tb, data)); err != nil {
		p.tb.Fatal(err)
	}
}

// leftovers lists what is in the profile directory besides the three files
// that belong there.
func (p *profile) leftovers() []string {
	p.tb.Helper()
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		p.tb.Fatal(err)
	}
	var extra []string
	for _, e := range entries {
		switch e.Name() {
		case "credentials.json", storage.TokenFileName, storage.TokenFileName + ".lock":
		default:
			extra = append(extra, e.Name())
		}
	}
	return extra
}

// TestAcceptQueue: settle sees a connection that waits to be accepted (where
// /proc/net/tcp shows it; elsewhere settle counts only what was accepted).
func TestAcceptQueue(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc/net/tcp")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n := acceptQueue(l.Addr().String()); n != 0 {
		t.Fatalf("queue of a new listener: %d, want 0", n)
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for deadline := time.Now().Add(hangBound); acceptQueue(l.Addr().String()) != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("queue with one connection not accepted: %d, want 1", acceptQueue(l.Addr().String()))
		}
	}
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if n := acceptQueue(l.Addr().String()); n != 0 {
		t.Fatalf("queue once it was accepted: %d, want 0", n)
	}
}
