package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHostile runs the binary against what a hostile review of the second
// release tried (issue 10's kind, on the new surface: serve, login,
// git-credential), as subtests sharing one build.
func TestHostile(t *testing.T) {
	bin := buildTokenkeeper(t)
	for _, tt := range []struct {
		name string
		test func(t *testing.T, bin string)
	}{
		{"ServeSecretFile", testServeSecretFile},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, bin) })
	}
}

// runBounded runs a command that must end by itself within 10 s (serve that
// refuses to start); one that does not is killed and fails the test.
func runBounded(t *testing.T, p *profile, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := p.command(args...)
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Env = p.command().Env
	o := p.run(cmd)
	if ctx.Err() != nil {
		t.Fatalf("tokenkeeper %s did not end by itself: %s", strings.Join(args, " "), o)
	}
	return o
}

// testServeSecretFile: --secret-file never writes through a link (planted by
// another user in a shared directory, it would make serve replace the link's
// target with the secret and leave it there) and never over, and then
// removes, a file that is not a secret left by serve; a stale secret file of
// a killed serve is replaced.
func testServeSecretFile(t *testing.T, bin string) {
	p, _ := newIntegrationProfile(t, bin)
	shared := t.TempDir()
	os.Chmod(shared, 0o1777)
	precious := p.path("precious.txt")
	if err := os.WriteFile(precious, []byte("the user's own file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(shared, "secret")
	if err := os.Symlink(precious, link); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		os.Lchown(link, 65534, 65534) // planted by another user
	}
	existing := p.path("notes.txt")
	os.WriteFile(existing, []byte("notes\n"), 0o600)
	for _, path := range []string{link, existing} {
		o := runBounded(t, p, "serve", "--listen", "127.0.0.1:0", "--secret-file", path)
		if o.code == 0 || !strings.Contains(o.stderr, path) || !strings.Contains(o.stderr, "not replacing it") {
			t.Errorf("serve --secret-file %s: %s, want a refusal naming the path", path, o)
		}
	}
	if b, _ := os.ReadFile(precious); string(b) != "the user's own file\n" {
		t.Errorf("the link's target now holds %q", b)
	}
	if b, _ := os.ReadFile(existing); string(b) != "notes\n" {
		t.Errorf("the existing file now holds %q", b)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the link is gone: %v", err)
	}

	// A serve killed with -9 leaves its secret file; the next one replaces it.
	stale := p.path("serve.secret")
	os.WriteFile(stale, []byte(strings.Repeat("A", 43)+"\n"), 0o600)
	_, stop := startServe(t, p, "serve", "--listen", "127.0.0.1:0", "--secret-file", stale)
	if b, _ := os.ReadFile(stale); strings.Contains(string(b), strings.Repeat("A", 43)) {
		t.Error("the stale secret was not replaced")
	}
	if o := stop(); o.code != 0 {
		t.Errorf("serve: %s", o)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the secret file is still there after SIGTERM (%v)", err)
	}
}
