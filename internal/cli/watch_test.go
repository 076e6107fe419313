package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// hangBound (setup_pty_test.go) bounds every wait of these tests too: reaching it
// means a hang, not slowness.

// writeCredsFile writes a credentials.json for the fake endpoint, with overrides
// (an empty value removes the field).
func writeCredsFile(t *testing.T, path, tokenURL string, overrides map[string]string) {
	t.Helper()
	c := map[string]string{
		"tokenURL": tokenURL, "grantType": "password",
		"appID": fakeClientID, "clientSecret": fakeClientSecret,
		"companyUUID": fakeCompanyUUID, "companyRequestToken": fakeRequestToken,
		"credentialType": "authtoken", "authStyle": "params",
	}
	for k, v := range overrides {
		if v == "" {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	data, _ := json.MarshalIndent(c, "", "  ")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// watchProc is a running `tokenkeeper --log-format json watch`, its log records
// delivered one by one.
type watchProc struct {
	cmd     *exec.Cmd
	records chan map[string]any
	mu      sync.Mutex
	log     strings.Builder // everything it wrote, for failure messages
	done    chan struct{}   // closed when its stderr is closed
}

func startWatch(t *testing.T, bin string, args ...string) *watchProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = cleanEnv()
	return startWatchCmd(t, cmd)
}

// startWatchCmd starts cmd, a watch with --log-format json.
func startWatchCmd(t *testing.T, cmd *exec.Cmd) *watchProc {
	t.Helper()
	stderr := startStderr(t, cmd)
	p := &watchProc{cmd: cmd, records: make(chan map[string]any, 1000), done: make(chan struct{})}
	go p.read(stderr)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return p
}

func (p *watchProc) read(r io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		p.mu.Lock()
		p.log.WriteString(sc.Text() + "\n")
		p.mu.Unlock()
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			p.records <- rec
		}
	}
}

func (p *watchProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitFor returns the next record for which match is true; records before it are
// passed to seen (when not nil).
func (p *watchProc) waitFor(t *testing.T, what string, match func(map[string]any) bool, seen func(map[string]any)) map[string]any {
	t.Helper()
	deadline := time.After(hangBound)
	for {
		select {
		case rec := <-p.records:
			if seen != nil {
				seen(rec)
			}
			if match(rec) {
				return rec
			}
		case <-deadline:
			t.Fatalf("watch: no record %s after %v; its log:\n%s", what, hangBound, p.output())
		}
	}
}

func isAction(action string) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["action"] == action && r["level"] == "INFO" }
}

func msgContains(s string) func(map[string]any) bool {
	return func(r map[string]any) bool { m, _ := r["msg"].(string); return strings.Contains(m, s) }
}

func recordTime(t *testing.T, rec map[string]any, key string) time.Time {
	t.Helper()
	s, _ := rec[key].(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("record %v: %s: %v", rec, key, err)
	}
	return ts
}

// TestWatchBinary runs `watch` for several token lifetimes against the fake
// endpoint: it renews before expiry and not much earlier, with nobody asking;
// picks up a token file written by another process and an edited
// credentials.json; and ends with exit 0 and a whole token file on SIGTERM.
func TestWatchBinary(t *testing.T) {
	t.Parallel()
	const ttl = 4 * time.Second
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{AccessTTL: ttl, Rotate: true})
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	writeCredsFile(t, creds, srv.TokenURL(), nil)
	p := startWatch(t, bin, "--dir", dir, "--log-format", "json", "watch")

	// Several lifetimes: each renewal starts before the previous token expires,
	// but no earlier than the margin (half the lifetime here) plus its jitter.
	last := recordTime(t, p.waitFor(t, "bootstrapped", isAction("bootstrapped"), nil), "expires_at")
	for i := 0; i < 4; i++ {
		exp := recordTime(t, p.waitFor(t, "refreshed", isAction("refreshed"), nil), "expires_at")
		started := exp.Add(-ttl) // expires_at = request start + expires_in
		if !started.Before(last) {
			t.Errorf("renewal %d started at %v, after the previous token expired at %v", i+1, started, last)
		}
		if earliest := last.Add(-ttl/2 - ttl/20 - 50*time.Millisecond); started.Before(earliest) {
			t.Errorf("renewal %d started at %v, %v before expiry: earlier than the margin and jitter allow", i+1, started, last.Sub(started))
		}
		last = exp
	}
	if got, want := srv.Count("refresh_token"), 4; got < want {
		t.Errorf("token endpoint saw %d refresh grants, want at least %d", got, want)
	}

	// Another process renews: watch picks its token up, and goes on from it (with
	// rotation, renewing from the old refresh token would fail and bootstrap).
	out, err := exec.Command(bin, "--dir", dir, "refresh", "--force", "--quiet").CombinedOutput()
	if err != nil {
		t.Fatalf("refresh --force: %v\n%s", err, out)
	}
	p.waitFor(t, "picking up the other process's token", msgContains("picked up a token renewed by another process"), nil)
	p.waitFor(t, "refreshed after the pick-up", isAction("refreshed"), nil)
	if got := srv.Count("password"); got != 1 {
		t.Errorf("token endpoint saw %d password grants, want 1 (no bootstrap after the other process's renewal)", got)
	}

	// A broken credentials.json is reported, and its repair is picked up: a new
	// tokenURL means a new grant from it.
	writeCredsFile(t, creds, srv.TokenURL(), map[string]string{"appID": ""})
	rec := p.waitFor(t, "reporting the broken credentials", msgContains("appID"), nil)
	if next, _ := rec["next"].(string); !strings.Contains(next, "waiting for "+creds) {
		t.Errorf("after broken credentials: next = %q, want it to wait for %s", next, creds)
	}
	writeCredsFile(t, creds, srv.URL()+fakeserver.ShortTokenPath, nil)
	p.waitFor(t, "bootstrapped from the edited credentials", isAction("bootstrapped"), nil)
	if got := srv.Last().Path; got != fakeserver.ShortTokenPath {
		t.Errorf("last token request went to %s, want %s (the edited tokenURL)", got, fakeserver.ShortTokenPath)
	}

	// SIGTERM: exit 0, a whole token file.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, p.cmd, p.done, 0)
	var tok map[string]any
	data, err := os.ReadFile(filepath.Join(dir, "refreshTokenObjectFile.json"))
	if err != nil || json.Unmarshal(data, &tok) != nil || tok["access_token"] == "" {
		t.Fatalf("token file after SIGTERM is not a whole token file (err %v)", err)
	}
	if os.Getenv("WATCH_LOG") != "" { // to see what watch logged when the test passes
		t.Log(p.output())
	}
	for _, secret := range []string{fakeClientSecret, fakeRequestToken, tok["access_token"].(string), tok["refresh_token"].(string)} {
		if strings.Contains(p.output(), secret) {
			t.Errorf("watch's log contains a secret")
		}
	}
}

// waitExit waits, within hangBound, for cmd to end with the wanted exit code.
func waitExit(t *testing.T, cmd *exec.Cmd, stderrDone <-chan struct{}, want int) {
	t.Helper()
	if stderrDone != nil {
		select {
		case <-stderrDone:
		case <-time.After(hangBound):
			t.Fatalf("%s did not exit within %v", cmd.Path, hangBound)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		got := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			got = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("%s exited %d, want %d", cmd.Path, got, want)
		}
	case <-time.After(hangBound):
		t.Fatalf("%s did not exit within %v", cmd.Path, hangBound)
	}
}

// TestWatchIdle measures an idle `watch` (a one-hour token, nothing to do): the
// context switches of all its threads over a quiet period, and its resident
// memory. It takes a while, so it runs only with TOKENKEEPER_MEASURE_IDLE set to
// the period (e.g. 60s); the figures are in docs/scheduling.md.
func TestWatchIdle(t *testing.T) {
	period, err := time.ParseDuration(os.Getenv("TOKENKEEPER_MEASURE_IDLE"))
	if err != nil {
		t.Skip("set TOKENKEEPER_MEASURE_IDLE=60s to measure an idle watch")
	}
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{AccessTTL: time.Hour})
	dir := t.TempDir()
	writeCredsFile(t, filepath.Join(dir, "credentials.json"), srv.TokenURL(), nil)
	p := startWatch(t, bin, "--dir", dir, "--log-format", "json", "watch")
	p.waitFor(t, "bootstrapped", isAction("bootstrapped"), nil)
	time.Sleep(3 * time.Second) // let start-up settle (the debounced event of our own save)
	pid := p.cmd.Process.Pid
	before, threads := contextSwitches(t, pid)
	time.Sleep(period)
	after, _ := contextSwitches(t, pid)
	t.Logf("idle watch over %v: %d context switches (all %d threads), VmRSS %s", period, after-before, threads, procField(t, pid, "VmRSS"))
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p.cmd, p.done, 0)
}

// contextSwitches sums voluntary and involuntary switches over a process's threads
// (/proc/PID/status alone counts the main thread only).
func contextSwitches(t *testing.T, pid int) (total, threads int) {
	t.Helper()
	tasks, err := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "status"))
	if err != nil || len(tasks) == 0 {
		t.Skipf("no /proc/%d/task: %v", pid, err)
	}
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // a thread that just ended
		}
		for _, line := range strings.Split(string(data), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches" {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				total += n
			}
		}
	}
	return total, len(tasks)
}

func procField(t *testing.T, pid int, key string) string {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "?"
}

// TestWatchAll watches every profile under the config root in one process; SIGHUP
// picks up a profile created since.
func TestWatchAll(t *testing.T) {
	t.Parallel()
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{})
	cfg, state := t.TempDir(), t.TempDir()
	for _, name := range []string{"alpha", "beta"} {
		writeCredsFile(t, filepath.Join(cfg, name, "credentials.json"), srv.TokenURL(), nil)
	}
	p := startWatch(t, bin, "--config-dir", cfg, "--state-dir", state, "--log-format", "json", "watch", "--all")
	bootstrapped := map[string]bool{}
	note := func(r map[string]any) {
		if r["action"] == "bootstrapped" {
			bootstrapped[r["profile"].(string)] = true
		}
	}
	p.waitFor(t, "both profiles bootstrapped", func(map[string]any) bool { return bootstrapped["alpha"] && bootstrapped["beta"] }, note)

	writeCredsFile(t, filepath.Join(cfg, "gamma", "credentials.json"), srv.TokenURL(), nil)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "the new profile bootstrapped", func(map[string]any) bool { return bootstrapped["gamma"] }, note)
	if got := srv.Count("password"); got != 3 {
		t.Errorf("token endpoint saw %d password grants, want 3 (one per profile; the restart reuses the tokens)", got)
	}
	for _, name := range []string{"alpha", "beta", "gamma"} {
		if _, err := os.Stat(filepath.Join(state, name, "refreshTokenObjectFile.json")); err != nil {
			t.Errorf("profile %s: %v", name, err)
		}
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p.cmd, p.done, 0)
}

// TestWatchAllText: in text mode, watch --all puts the profile's name on every
// line about a profile (the "next attempt" line of a failure included), and
// says that it stopped on SIGTERM.
func TestWatchAllText(t *testing.T) {
	t.Parallel()
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{})
	cfg, state := t.TempDir(), t.TempDir()
	writeCredsFile(t, filepath.Join(cfg, "alpha", "credentials.json"), srv.TokenURL(), nil)
	writeCredsFile(t, filepath.Join(cfg, "beta", "credentials.json"), srv.TokenURL(), map[string]string{"clientSecret": "wrong-secret-value"})
	p := startWatch(t, bin, "--config-dir", cfg, "--state-dir", state, "watch", "--all")
	waitOutput(t, p, "tokenkeeper: alpha: bootstrapped")
	waitOutput(t, p, "tokenkeeper: beta: waiting for ")
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p.cmd, p.done, 0)
	out := p.output()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "tokenkeeper: alpha: ") && !strings.HasPrefix(line, "tokenkeeper: beta: ") &&
			!strings.HasPrefix(line, "tokenkeeper: hint: ") && line != "tokenkeeper: stopped by a signal; no renewal was cut short" {
			t.Errorf("line without its profile: %q", line)
		}
	}
	if !strings.HasSuffix(out, "tokenkeeper: stopped by a signal; no renewal was cut short\n") {
		t.Errorf("output does not end with the stop message:\n%s", out)
	}
}

// waitOutput waits until watch's stderr holds s.
func waitOutput(t *testing.T, p *watchProc, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in watch's output after 30s:\n%s", s, p.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWatchAllRefusesProfile: watch --all refuses --profile (and --dir) as
// refresh --all and status --all do (fleetRoots), rather than watching every
// profile while the flag named one.
func TestWatchAllRefusesProfile(t *testing.T) {
	root := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--config-dir", root, "--state-dir", root, "--profile", "eu", "watch", "--all"}, "watch --all: --profile picks one profile"},
		{[]string{"--dir", root, "watch", "--all"}, "watch --all: --dir " + root + " holds a single profile"},
	} {
		var stderr strings.Builder
		code := Run(t.Context(), tc.args, strings.NewReader(""), io.Discard, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, %q; want exit %d and %q", tc.args, code, stderr.String(), exitUsage, tc.want)
		}
	}
}

// TestWatchOutageHint: watch retries a token endpoint that is down by itself,
// and says so: its hint does not send the user to run it again later, or to a
// cron job.
func TestWatchOutageHint(t *testing.T) {
	t.Parallel()
	bin := buildTokenkeeper(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String() + "/token" // nothing listens there once closed
	ln.Close()
	dir := t.TempDir()
	writeCredsFile(t, filepath.Join(dir, "credentials.json"), down, nil)
	p := startWatch(t, bin, "--dir", dir, "--timeout", "1s", "watch")
	waitOutput(t, p, "tokenkeeper: next attempt in ")
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p.cmd, p.done, 0)
	out := p.output()
	if !strings.Contains(out, "tokenkeeper: hint: the token endpoint is unreachable or failing; watch tries again by itself\n") {
		t.Errorf("watch's hint does not say that it tries again:\n%s", out)
	}
	if strings.Contains(out, "cron") || strings.Contains(out, "run again later") {
		t.Errorf("watch sends the user to run it again later:\n%s", out)
	}
}

// TestWatchNoExpiryBacksOff: an endpoint whose access tokens carry no expiry
// (no expires_in, not a JWT) gives watch tokens it cannot schedule from. It
// backs off, and its own save of each answer (whose rotated refresh token
// must be kept) does not start the next renewal at once, as a token file
// written by another process would: the renewal after a failure is the
// timer's, whatever wrote the file. Before, it renewed some ten times a
// second, each save setting off the next.
func TestWatchNoExpiryBacksOff(t *testing.T) {
	t.Parallel()
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{OmitExpiresIn: true, Rotate: true})
	dir := t.TempDir()
	writeCredsFile(t, filepath.Join(dir, "credentials.json"), srv.TokenURL(), nil)
	p := startWatch(t, bin, "--dir", dir, "--log-format", "json", "watch")
	noExpiry := msgContains("has no expiry")
	for i, want := range []string{"start", "timer", "timer"} {
		rec := p.waitFor(t, fmt.Sprintf("failure %d", i+1), noExpiry, nil)
		if rec["cause"] != want {
			t.Fatalf("failure %d: cause %v, want %s (after %d token requests); the log:\n%s", i+1, rec["cause"], want, srv.Count(""), p.output())
		}
	}
	if got := srv.Count(""); got != 3 {
		t.Errorf("the endpoint saw %d requests by the third failure, want 3", got)
	}
}

// TestWatchKeptBacksOff: answers that carry a rotated refresh token but no
// usable access token are saved beside the access token kept, which is
// still valid; watch backs off, and the save of each does not start the
// next renewal at once (it did, some ten times a second, until the kept
// token expired).
func TestWatchKeptBacksOff(t *testing.T) {
	t.Parallel()
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{AccessTTL: 20 * time.Second, Rotate: true})
	dir := t.TempDir()
	writeCredsFile(t, filepath.Join(dir, "credentials.json"), srv.TokenURL(), nil)
	if out, err := exec.Command(bin, "--dir", dir, "refresh").CombinedOutput(); err != nil {
		t.Fatalf("refresh: %v\n%s", err, out)
	}
	for range 30 {
		srv.Fail(fakeserver.Fault{Fields: map[string]json.RawMessage{"access_token": json.RawMessage(`"not a token"`)}})
	}
	// Due half way through its life (the margin is capped at half the
	// lifetime), the token then serves for 10 s more: three tries, 1 s and
	// then 2 s apart at most, fit.
	p := startWatch(t, bin, "--dir", dir, "--margin", "1h", "--log-format", "json", "watch")
	for i := range 3 {
		rec := p.waitFor(t, fmt.Sprintf("kept %d", i+1), isAction("kept"), nil)
		if rec["cause"] != "timer" {
			t.Fatalf("kept %d: cause %v, want timer (after %d token requests); the log:\n%s", i+1, rec["cause"], srv.Count(""), p.output())
		}
	}
}
