package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// needTool skips the test when a command of Debian's prometheus package is
// missing.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found (Debian: apt-get install prometheus): %v", name, err)
	}
	return path
}

// freePort is a loopback port nothing listens on, a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startWatchMetrics starts `watch --metrics 127.0.0.1:0` with args and returns
// it with the address it serves on, from its log.
func startWatchMetrics(t *testing.T, bin string, args ...string) (*watchProc, string) {
	t.Helper()
	p := startWatch(t, bin, args...)
	rec := p.waitFor(t, "serving metrics", func(r map[string]any) bool { return r["metrics"] != nil }, nil)
	return p, rec["metrics"].(string)
}

func get(t *testing.T, u, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := (&http.Client{Timeout: hangBound}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestWatchMetricsPrometheus: a real Prometheus (Debian's package), started
// here with a one-second scrape interval, scrapes `watch --all --metrics` and
// its query API sees a healthy profile ok, one with a wrong client secret
// needing its credentials fixed, and the healthy one's access token expiring
// in the future.
func TestWatchMetricsPrometheus(t *testing.T) {
	t.Parallel()
	prom := needTool(t, "prometheus")
	promtool := needTool(t, "promtool")
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{AccessTTL: time.Hour})
	cfg, state := t.TempDir(), t.TempDir()
	writeCredsFile(t, filepath.Join(cfg, "healthy", "credentials.json"), srv.TokenURL(), nil)
	writeCredsFile(t, filepath.Join(cfg, "wrongsecret", "credentials.json"), srv.TokenURL(), map[string]string{"clientSecret": "not-the-secret"})
	p, addr := startWatchMetrics(t, bin, "--config-dir", cfg, "--state-dir", state, "--log-format", "json", "watch", "--all", "--metrics", "127.0.0.1:0")
	p.waitFor(t, "the healthy profile bootstrapped", func(r map[string]any) bool { return r["profile"] == "healthy" && r["action"] == "bootstrapped" }, nil)

	// The exposition as served: Prometheus's own parser reads it, and it
	// holds no secret.
	code, body := get(t, "http://"+addr+"/metrics", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, body)
	}
	for _, secret := range []string{fakeClientSecret, "not-the-secret", fakeRequestToken, srv.URL()} {
		if strings.Contains(body, secret) {
			t.Errorf("/metrics holds a secret or the endpoint's URL %q:\n%s", secret, body)
		}
	}

	dir := t.TempDir()
	promPort := freePort(t)
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: tokenkeeper\n    static_configs:\n      - targets: ['%s']\n", addr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	pc := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(promPort), "--log.level=warn")
	var plog strings.Builder
	pc.Stdout, pc.Stderr = &plog, &plog
	if err := pc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pc.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { pc.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(hangBound):
			pc.Process.Kill()
			<-done
		}
	})

	// query returns the profiles of the series query yields, once they are all
	// of want (each query is retried until then: scrapes come every second).
	query := func(q string, want ...string) {
		t.Helper()
		deadline := time.Now().Add(hangBound)
		var last string
		for time.Now().Before(deadline) {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?query=%s", promPort, url.QueryEscape(q)))
			if err == nil {
				var r struct {
					Status string
					Data   struct {
						Result []struct {
							Metric map[string]string
						}
					}
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				last = string(data)
				if json.Unmarshal(data, &r) == nil && r.Status == "success" {
					var got []string
					for _, s := range r.Data.Result {
						got = append(got, s.Metric["profile"])
					}
					if strings.Join(got, ",") == strings.Join(want, ",") {
						return
					}
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("Prometheus: %s: want the series of %v, last answer %s\nPrometheus's log:\n%s\nwatch's log:\n%s", q, want, last, plog.String(), p.output())
	}
	query(`tokenkeeper_grant_state{state="ok"} == 1`, "healthy")
	query(`tokenkeeper_grant_state{state="config"} == 1`, "wrongsecret")
	query(`tokenkeeper_access_token_expiry_timestamp_seconds > time()`, "healthy")
	query(`tokenkeeper_renewals_total{result="ok"} == 1`, "healthy")
	query(`tokenkeeper_renewals_total{result="config"} == 1`, "wrongsecret")
	query(`tokenkeeper_refusal_remembered == 1`, "wrongsecret")
	query(`tokenkeeper_last_renewal_attempt_timestamp_seconds <= time()`, "healthy", "wrongsecret")
	query(`tokenkeeper_build_info == 1`, "")

	p.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p.cmd, p.done, 0)
}

// alertRules is the rules file of docs/scheduling.md's quick start; its unit tests are
// beside it.
const alertRules = "../../docs/alerts/tokenkeeper.rules.yml"

// TestAlertRules: the rules file is valid and passes its unit tests
// (promtool's, run here so that CI runs them).
func TestAlertRules(t *testing.T) {
	t.Parallel()
	promtool := needTool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", alertRules},
		{"test", "rules", strings.TrimSuffix(alertRules, ".yml") + ".test.yml"},
	} {
		if out, err := exec.Command(promtool, args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestWatchMetricsServer: /metrics alone, GET or HEAD, and on loopback only
// for a loopback host (a page's script reaching 127.0.0.1 through a name of
// its own is refused); a non-loopback address takes --metrics-remote and a
// warning.
func TestWatchMetricsServer(t *testing.T) {
	t.Parallel()
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{AccessTTL: time.Hour})
	dir := t.TempDir()
	writeCredsFile(t, filepath.Join(dir, "credentials.json"), srv.TokenURL(), nil)
	p, addr := startWatchMetrics(t, bin, "--dir", dir, "--log-format", "json", "watch", "--metrics", "127.0.0.1:0")
	p.waitFor(t, "bootstrapped", isAction("bootstrapped"), nil)
	code, body := get(t, "http://"+addr+"/metrics", "")
	if code != 200 || !strings.Contains(body, `tokenkeeper_grant_state{profile="default",state="ok"} 1`) {
		t.Errorf("GET /metrics: %d\n%s", code, body)
	}
	// The alerting rules name only metrics watch serves.
	rules, err := os.ReadFile(alertRules)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`tokenkeeper_[a-z_]+`).FindAllString(string(rules), -1) {
		if !strings.Contains(body, "\n# TYPE "+name+" ") {
			t.Errorf("%s names %s, which watch does not serve", alertRules, name)
		}
	}
	_, port, _ := net.SplitHostPort(addr)
	if code, _ := get(t, "http://"+addr+"/metrics", "localhost:"+port); code != 200 {
		t.Errorf("GET /metrics as localhost: %d, want 200", code)
	}
	if code, body := get(t, "http://"+addr+"/metrics", "attacker.example:"+port); code != http.StatusForbidden || strings.Contains(body, "tokenkeeper_") {
		t.Errorf("GET /metrics for another host name: %d, want 403 without metrics\n%s", code, body)
	}
	if code, _ := get(t, "http://"+addr+"/", ""); code != http.StatusNotFound {
		t.Errorf("GET /: %d, want 404", code)
	}
	resp, err := http.Post("http://"+addr+"/metrics", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d, want 405", resp.StatusCode)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p.cmd, p.done, 0)

	for _, bad := range [][]string{{"--metrics", "0.0.0.0:9464"}, {"--metrics", "[::]:9464"}, {"--metrics", "example.com:9464"}, {"--metrics-remote"}, {"--metrics", "127.0.0.1:http"}} {
		out, err := exec.Command(bin, append([]string{"--dir", dir, "watch"}, bad...)...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUsage {
			t.Errorf("watch %v: %v, want exit 2\n%s", bad, err, out)
		}
	}

	// Without a host, --metrics is loopback: PORT, and :PORT too (which
	// net.Listen would bind on every interface).
	for _, a := range []string{"0", ":0"} {
		p, addr := startWatchMetrics(t, bin, "--dir", dir, "--log-format", "json", "watch", "--metrics", a)
		if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
			t.Errorf("watch --metrics %s serves on %s, want 127.0.0.1", a, addr)
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		waitExit(t, p.cmd, p.done, 0)
	}

	// --metrics-remote allows a remote address; it does not lift the Host
	// check of one that is loopback.
	p, addr = startWatchMetrics(t, bin, "--dir", dir, "--log-format", "json", "watch", "--metrics", "127.0.0.1:0", "--metrics-remote")
	_, port, _ = net.SplitHostPort(addr)
	if code, body := get(t, "http://"+addr+"/metrics", "attacker.example:"+port); code != http.StatusForbidden || strings.Contains(body, "tokenkeeper_") {
		t.Errorf("GET /metrics for another host name with --metrics-remote on loopback: %d, want 403 without metrics\n%s", code, body)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p.cmd, p.done, 0)

	p = startWatch(t, bin, "--dir", dir, "watch", "--metrics", "0.0.0.0:0", "--metrics-remote")
	deadline := time.Now().Add(hangBound)
	for !strings.Contains(p.output(), "serving metrics") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(p.output(), "tokenkeeper: warning: --metrics 0.0.0.0:0: other hosts can read the metrics") {
		t.Errorf("watch --metrics 0.0.0.0:0 --metrics-remote: no warning; its log:\n%s", p.output())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, p.cmd, p.done, 0)
}
