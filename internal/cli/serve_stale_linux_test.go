//go:build linux

package cli

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestServeStaleSocketNotOurs: serve --socket at a path holding another
// user's socket that no server answers on, in a sticky directory (/tmp): it
// cannot be removed, so no later try can listen there. That is a path to
// change (78), not another server to stop or wait for (75). The binary runs
// as nobody; the test needs root to make it so.
func TestServeStaleSocketNotOurs(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root, to run the binary as another user than the socket's")
	}
	bin := buildTokenkeeper(t)
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} { // nobody passes through
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sticky := filepath.Join(root, "tmp")
	if err := os.Mkdir(sticky, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(sticky, "tk.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the socket stays, with no server

	const nobody = 65534
	dir := filepath.Join(root, "profile")
	writeCredsFile(t, filepath.Join(dir, "credentials.json"), "https://127.0.0.1:1/token", nil)
	for _, p := range []string{dir, filepath.Join(dir, "credentials.json")} {
		if err := os.Chown(p, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	// A copy nobody may run: the built binary's directory is root's alone.
	exe := filepath.Join(root, "tokenkeeper")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "--dir", dir, "serve", "--socket", sock)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	o := runAll(t, []*exec.Cmd{cmd})[0]
	if o.code != exitConfig || !strings.Contains(o.stderr, "cannot be removed") || strings.Contains(o.stderr, "other server") {
		t.Errorf("another user's dead socket: %s; want 78 saying it cannot be removed, and no other server to stop", o)
	}
}
