package cli

import (
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// TestReview runs the binary through what a hostile review of the refusal
// memory, the inline outputs and logout found, as subtests sharing one build.
func TestReview(t *testing.T) {
	runWithBinary(t, []binTest{
		{"DeviceTimesOutInPoll", testDeviceTimesOutInPoll},
		{"LogoutNothingToRevoke", testLogoutNothingToRevoke},
	})
}

// testDeviceTimesOutInPoll: a device login whose time ran out while a poll
// was under way said the provider "did not answer" (exit 75, as an outage),
// where the person simply did not approve in time: it says the login timed
// out, as when the time runs out between polls.
func testDeviceTimesOutInPoll(t *testing.T, bin string) {
	hp := newHostileProvider(t)
	p := deviceProfile(t, bin, hp)
	hp.handle("/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() // read to the end: then a client that gives up ends r's context
		select {      // a poll the provider holds until the client gives up
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	})
	o := runBounded(t, p, "login", "--wait", "2s")
	if !strings.Contains(o.stderr, "timed out (no approval in 2s)") || strings.Contains(o.stderr, "did not answer") {
		t.Errorf("login --wait 2s with a poll under way at the end: %s, want the login timed out", o)
	}
}

// testLogoutNothingToRevoke: logout at a provider with a revocation endpoint,
// of a record that holds no refresh token or cannot be read, warned "the
// provider has no revocation endpoint": it says why nothing was revoked.
func testLogoutNothingToRevoke(t *testing.T, bin string) {
	hp := newHostileProvider(t)
	p := deviceProfile(t, bin, hp)
	hp.answer("/token", 200, map[string]any{"access_token": "review-access-token-0001", "token_type": "Bearer", "expires_in": 3600})
	if o := runBounded(t, p, "login"); o.code != 0 {
		t.Fatalf("login: %s", o)
	}
	o := runBounded(t, p, "logout")
	if o.code != 0 || strings.Contains(o.stderr, "no revocation endpoint") || !strings.Contains(o.stderr, "held no refresh token, so nothing was revoked") {
		t.Errorf("logout of an access token alone: %s, want exit 0 and no refresh token to revoke", o)
	}
	if err := os.WriteFile(p.tokenFile(), []byte(`{"refresh_token": "review-refresh-token-0001", `), 0o600); err != nil {
		t.Fatal(err)
	}
	o = runBounded(t, p, "logout")
	if o.code != 0 || strings.Contains(o.stderr, "no revocation endpoint") || !strings.Contains(o.stderr, "could not be read, so nothing was revoked") {
		t.Errorf("logout of a damaged record: %s, want exit 0 and the record said to be unreadable", o)
	}
}

// TestInlineHintNoCron: a temporary failure of an output a program waits on
// inline ended its hint with "run again later (a cron job will)", which
// reads oddly under kubectl and git: there the program runs it again.
// refresh still speaks of cron.
func TestInlineHintNoCron(t *testing.T) {
	fs := ftFake(t)
	dir := t.TempDir()
	ftCreds(t, dir, fs.TokenURL(), nil)
	for range 20 {
		fs.Fail(fakeserver.Fault{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"60"}}})
	}
	_, stderr, code := ftRun(t, nil, "--dir", dir, "--timeout", "1s", "token", "-o", "exec-credential")
	ftWant(t, "token -o exec-credential", code, exitTemp, stderr)
	if strings.Contains(stderr, "cron") || !strings.Contains(stderr, "; kubectl runs it again on its next command") {
		t.Errorf("token -o exec-credential's hint speaks of cron, or not of kubectl:\n%s", ftMask(stderr))
	}
	host := strings.TrimPrefix(fs.URL(), "http://")
	_, stderr, code = ftRunIn(t, "protocol=https\nhost="+host+"\n\n", nil, "--dir", dir, "--timeout", "1s", "git-credential", "get")
	ftWant(t, "git-credential get", code, exitTemp, stderr)
	if strings.Contains(stderr, "cron") || !strings.Contains(stderr, "; git asks again on its next fetch or push") {
		t.Errorf("git-credential get's hint speaks of cron, or not of git:\n%s", ftMask(stderr))
	}
	_, stderr, code = ftRun(t, nil, "--dir", dir, "--timeout", "1s", "refresh")
	ftWant(t, "refresh", code, exitTemp, stderr)
	if !strings.Contains(stderr, "run again later (a cron job will)") {
		t.Errorf("refresh's hint no longer names cron:\n%s", ftMask(stderr))
	}
}

// issueNumber is a comment that cites an issue number: comments say why, and
// a reader of the repository has no issue tracker (docs/… is what they cite).
var issueNumber = regexp.MustCompile(`(?i)\bissues? *#?[0-9]+`)

// outsideDocument cites a document that is not in the repository: the brief the
// project answers, or its notes on providers. docs/contract.md is the project's
// own contract, and what code and guides cite.
var outsideDocument = regexp.MustCompile(`\bSPEC ?§|\bSPEC\.md|PROVIDERS\.md|\.\./shared/`)

// TestNoIssueNumbers: no Go file or test script cites an issue number; a
// script's title says what it guards. No Go file, script or guide cites a
// document outside the repository.
func TestNoIssueNumbers(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		code := strings.HasSuffix(path, ".go") || strings.HasPrefix(path, filepath.Join(root, "internal", "cli", "testdata", "script")+string(filepath.Separator))
		prose := strings.HasSuffix(path, ".md") || strings.HasSuffix(path, ".sh") || strings.HasSuffix(path, ".mjs")
		if d.IsDir() || !(code || prose) {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if m := issueNumber.FindString(line); code && m != "" {
				t.Errorf("%s:%d cites %q", path, i+1, m)
			}
			if m := outsideDocument.FindString(line); m != "" {
				t.Errorf("%s:%d cites %q, a document outside the repository (cite docs/contract.md)", path, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// heavyInit are modules whose package initialisation costs every run of the
// binary, `token` on a valid token included (docs/contract.md §6): the YAML
// libraries (regexps and unicode tables at init), adrg/xdg where
// tokenkeeper finds the roots itself (on Windows its init loads shell32), and
// prometheus/common's expfmt with the protobuf and model packages it brings
// (internal/promtext writes the metrics; docs/DESIGN.md, "Start-up").
var heavyInit = map[string][]string{
	"linux":   append([]string{"github.com/adrg/xdg"}, heavyInitAll...),
	"windows": append([]string{"github.com/adrg/xdg"}, heavyInitAll...),
	"darwin":  heavyInitAll,
}

// heavyInitAll are heavyInit's modules on every platform.
var heavyInitAll = []string{"sigs.k8s.io/yaml", "go.yaml.in/yaml", "gopkg.in/yaml", "k8s.io/", "github.com/spf13/cobra",
	"github.com/prometheus/", "google.golang.org/protobuf"}

// TestBinaryLinksNoHeavyInit: the binary, for each platform, links none of
// heavyInit (a test may: a _test.go import is not linked into it).
func TestBinaryLinksNoHeavyInit(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("needs the go tool: ", err)
	}
	for goos, banned := range heavyInit {
		cmd := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}}", "github.com/tokenkeeper/tokenkeeper")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list for %s: %v", goos, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, b := range banned {
				if strings.HasPrefix(pkg, b) {
					t.Errorf("the %s binary links %s: its package init runs on every start-up", goos, pkg)
				}
			}
		}
	}
}
