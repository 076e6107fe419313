package cli

// The outputs a program waits on inline (token -o exec-credential for
// kubectl, git-credential get for git) fail fast while the token endpoint is
// down, through the binary (ftRun).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// TestInlineEndpointDown: kubectl runs its exec plugin up to six times for one
// command, each run waiting the whole --timeout (30 s) on a token endpoint
// that accepts and never answers. Without --timeout, the inline outputs give
// up after 10 s, and the runs that follow within 10 s send nothing and fail
// at once with the first run's message; git-credential get too. A command
// nothing waits on inline (refresh) still tries.
func TestInlineEndpointDown(t *testing.T) {
	t.Parallel()
	fs := ftFake(t)
	dir := t.TempDir()
	ftCreds(t, dir, fs.TokenURL(), nil)
	for range 20 {
		fs.Fail(fakeserver.Fault{Hang: true})
	}
	for i := range 3 {
		stdout, stderr, code := ftRun(t, nil, "--dir", dir, "token", "-o", "exec-credential")
		ftWant(t, "token -o exec-credential", code, exitTemp, stderr)
		want := "no answer in time (timeout)"
		if i > 0 {
			want = "no answer in time (timeout) (at "
		}
		if stdout != "" || !strings.Contains(stderr, want) || !strings.Contains(stderr, "hint: the token endpoint is unreachable or failing") {
			t.Errorf("run %d: stdout %q, stderr lacks %q:\n%s", i+1, stdout, want, ftMask(stderr))
		}
		if i > 0 && !strings.Contains(stderr, "not asked again before") {
			t.Errorf("run %d does not say that it sent nothing:\n%s", i+1, ftMask(stderr))
		}
	}
	// The first run's attempts within 10 s (one hung attempt gets half of
	// it), and none after: 30 s would make two attempts in each run.
	if n := fs.Count(""); n < 1 || n > 2 {
		t.Errorf("the token endpoint got %d requests, want the first run's (1 or 2)", n)
	}
	ftMode(t, filepath.Join(dir, outageName), 0o600)
	host := strings.TrimPrefix(fs.URL(), "http://")
	cmd := []string{"--dir", dir, "git-credential", "get"}
	stdout, stderr, code := ftRunIn(t, "protocol=https\nhost="+host+"\n\n", nil, cmd...)
	ftWant(t, "git-credential get", code, exitTemp, stderr)
	if stdout != "" || !strings.Contains(stderr, "not asked again before") {
		t.Errorf("git-credential get: stdout %q, want nothing and the remembered failure:\n%s", stdout, ftMask(stderr))
	}
	if n := fs.Count(""); n > 2 {
		t.Errorf("git-credential get sent a request (%d in all)", n)
	}
	before := fs.Count("")
	_, stderr, code = ftRun(t, nil, "--dir", dir, "--timeout", "1s", "refresh")
	ftWant(t, "refresh", code, exitTemp, stderr)
	if fs.Count("") == before {
		t.Errorf("refresh sent nothing: only the inline outputs take the remembered failure")
	}
}

// TestInlineEndpointDownValidToken: the remembered failure never hides a
// token that is still valid (a renewal wanted early, --margin or
// --min-valid), and never lifts a remembered refusal.
func TestInlineEndpointDownValidToken(t *testing.T) {
	t.Parallel()
	fs := ftFake(t)
	dir := ftRefreshed(t, fs)
	// Ten minutes left of an hour: --min-valid 20m wants a renewal.
	ageFile(t, filepath.Join(dir, "refreshTokenObjectFile.json"), 50*time.Minute, 10*time.Minute)
	for range 50 {
		fs.Fail(fakeserver.Fault{Status: 503})
	}
	for i := range 2 {
		stdout, stderr, code := ftRun(t, nil, "--dir", dir, "--timeout", "1s", "token", "-o", "exec-credential", "--min-valid", "20m")
		ftWant(t, "token -o exec-credential wanting a renewal", code, exitOK, stderr)
		if !strings.Contains(stdout, `"token":`) || !strings.Contains(stderr, "could not renew") {
			t.Errorf("run %d: stdout %q; want the stored token, and a warning:\n%s", i+1, stdout, ftMask(stderr))
		}
	}
	sent := fs.Count("")
	if _, err := os.Stat(filepath.Join(dir, outageName)); err != nil {
		t.Fatalf("no failure remembered: %v", err)
	}

	// A refusal remembered (by a run that does not take the outage), and a
	// failure remembered after it: the refusal is what every run says.
	dir2 := t.TempDir()
	fs2 := ftFake(t)
	ftCreds(t, dir2, fs2.TokenURL(), nil)
	fs2.SetRequestToken("a-request-token-generated-since")
	_, stderr, code := ftRun(t, nil, "--dir", dir2, "refresh")
	ftWant(t, "refused refresh", code, exitNeedsHuman, stderr)
	sum := sha256.Sum256([]byte(fs2.TokenURL()))
	rec, _ := json.Marshal(map[string]string{"url": hex.EncodeToString(sum[:8]), "at": time.Now().UTC().Format(time.RFC3339Nano), "error": "no answer in time (timeout)"})
	if err := os.WriteFile(filepath.Join(dir2, outageName), rec, 0o600); err != nil {
		t.Fatal(err)
	}
	_, again, code := ftRun(t, nil, "--dir", dir2, "token", "-o", "exec-credential")
	ftWant(t, "token -o exec-credential after a refusal", code, exitNeedsHuman, again)
	if strings.Contains(again, "not asked again") {
		t.Errorf("the remembered failure stands for the refusal:\n%s", ftMask(again))
	}
	if n := fs.Count(""); n != sent {
		t.Errorf("the second run sent %d requests, want none", n-sent)
	}
}
