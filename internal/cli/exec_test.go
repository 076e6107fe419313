//go:build unix

package cli

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// TestExecForwardsSignals sends signals to a real `tokenkeeper exec` and checks
// that the child gets them and that its fate becomes tokenkeeper's exit code.
func TestExecForwardsSignals(t *testing.T) {
	t.Parallel()
	bin := buildTokenkeeper(t)
	srv := newFake(t, fakeserver.Options{})
	dir := t.TempDir()
	writeCredsFile(t, filepath.Join(dir, "credentials.json"), srv.TokenURL(), nil)
	cases := []struct {
		name   string
		script string
		sig    syscall.Signal
		want   int
	}{
		{"child handles SIGUSR1", `trap "exit 42" USR1; echo ready; while :; do sleep 0.05; done`, syscall.SIGUSR1, 42},
		{"child handles SIGHUP", `trap "exit 43" HUP; echo ready; while :; do sleep 0.05; done`, syscall.SIGHUP, 43},
		{"child killed by SIGTERM", `echo ready; exec sleep 300`, syscall.SIGTERM, 128 + 15},
		{"child killed by SIGINT", `echo ready; exec sleep 300`, syscall.SIGINT, 128 + 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, "--dir", dir, "exec", "--", "sh", "-c", tc.script)
			cmd.Env = cleanEnv()
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill() })
			ready := make(chan bool, 1)
			go func() {
				line, _ := bufio.NewReader(out).ReadString('\n')
				ready <- strings.TrimSpace(line) == "ready"
			}()
			select {
			case ok := <-ready:
				if !ok {
					t.Fatal("the child did not start")
				}
			case <-time.After(hangBound):
				t.Fatal("the child did not start")
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			waitExit(t, cmd, nil, tc.want)
		})
	}
}
