package cli

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// serviceControlEnv makes this test binary send the service it names a
// ParamChange and exit, as `sc control NAME paramchange` does (Wine's sc has
// no control command): .ci/wine.sh's test of watch's reload as a service.
const serviceControlEnv = "TOKENKEEPER_TEST_SERVICE_CONTROL"

func init() {
	name := os.Getenv(serviceControlEnv)
	if name == "" {
		return
	}
	err := func() error {
		m, err := mgr.Connect()
		if err != nil {
			return err
		}
		defer m.Disconnect()
		s, err := m.OpenService(name)
		if err != nil {
			return err
		}
		defer s.Close()
		_, err = s.Control(svc.ParamChange)
		return err
	}()
	if err != nil {
		fmt.Fprintf(os.Stderr, "paramchange to %s: %v\n", name, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestServiceControls: as a Windows service, Interrogate is answered, Stop and
// Shutdown stop the command as SIGTERM does, ParamChange reloads as SIGHUP
// does, and the command's exit code becomes the service's own.
func TestServiceControls(t *testing.T) {
	for _, c := range []struct {
		cmd  svc.Cmd
		code int
	}{{svc.Stop, 0}, {svc.Shutdown, 78}} {
		stopped := make(chan struct{})
		s := &service{stop: func() { close(stopped) }, code: make(chan int, 1)}
		req := make(chan svc.ChangeRequest)
		status := make(chan svc.Status, 10)
		type result struct {
			specific bool
			code     uint32
		}
		done := make(chan result, 1)
		go func() { sp, code := s.Execute(nil, req, status); done <- result{sp, code} }()
		if st := <-status; st.State != svc.Running || st.Accepts&(svc.AcceptStop|svc.AcceptShutdown|svc.AcceptParamChange) == 0 {
			t.Fatalf("the first status: %+v, want running, accepting stop, shutdown and paramchange", st)
		}

		hup := make(chan os.Signal, 1)
		stopReload := notifyReload(hup)
		req <- svc.ChangeRequest{Cmd: svc.ParamChange}
		select {
		case sig := <-hup:
			if sig != syscall.SIGHUP {
				t.Errorf("ParamChange gave %v, want SIGHUP", sig)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("ParamChange reloaded nothing")
		}
		stopReload()
		req <- svc.ChangeRequest{Cmd: svc.ParamChange}

		req <- svc.ChangeRequest{Cmd: svc.Interrogate, CurrentStatus: svc.Status{State: svc.Running}}
		if st := <-status; st.State != svc.Running {
			t.Errorf("Interrogate: %+v", st)
		}
		req <- svc.ChangeRequest{Cmd: c.cmd}
		<-stopped
		if st := <-status; st.State != svc.StopPending {
			t.Errorf("after %v: %+v, want stop pending", c.cmd, st)
		}
		s.code <- c.code
		if r := <-done; r.code != uint32(c.code) || r.specific != (c.code != 0) {
			t.Errorf("the command ended with %d: the service reported %+v", c.code, r)
		}
		select {
		case <-hup:
			t.Errorf("a ParamChange after the channel was removed reached it")
		default:
		}
	}
}

// TestNotAService: a test binary started from a shell, not by the service
// manager, is not taken for a service (which would try to answer the service
// manager at every watch and serve).
func TestNotAService(t *testing.T) {
	if isService() {
		t.Errorf("isService() is true in a process the service manager did not start")
	}
}
