package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
)

// serviceStopWait bounds how long the end of the process waits for the
// service manager to take the service's last status.
const serviceStopWait = 5 * time.Second

// startService answers the service manager when it started this process (watch
// or serve installed as a Windows service): Stop and Shutdown call stop, as
// SIGTERM does on Unix; ParamChange (`sc control NAME paramchange`) reloads
// as SIGHUP does, Windows having no SIGHUP. It returns the function that
// reports the service stopped with the command's exit code, or nil when the
// process is not a service. It runs when watch or serve first waits for a
// signal, well within the 30 seconds the service manager gives a service to
// answer.
func startService(stop func()) func(code int) {
	if !isService() {
		return nil
	}
	s := &service{stop: stop, code: make(chan int, 1), ended: make(chan struct{})}
	go func() {
		svc.Run("tokenkeeper", s) // the name is ignored for a service of its own process
		close(s.ended)
	}()
	return func(code int) {
		s.code <- code
		select {
		case <-s.ended:
		case <-time.After(serviceStopWait):
		}
	}
}

// isService reports whether the service manager started this process: whether
// its parent is services.exe, which starts services and nothing else.
// svc.IsWindowsService asks that too, and also that services.exe runs in
// session 0, which Wine's does not (session 1); it lists every process on the
// system to find the parent, where opening the parent is enough, and only a
// service whose account may not open services.exe needs the list.
func isService() bool {
	name, err := parentImage()
	if err != nil {
		ok, _ := svc.IsWindowsService()
		return ok
	}
	return strings.EqualFold(filepath.Base(name), "services.exe")
}

// parentImage is the path of this process's parent's executable.
func parentImage() (string, error) {
	var pbi windows.PROCESS_BASIC_INFORMATION
	size := uint32(unsafe.Sizeof(pbi))
	if err := windows.NtQueryInformationProcess(windows.CurrentProcess(), windows.ProcessBasicInformation, unsafe.Pointer(&pbi), size, &size); err != nil {
		return "", err
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pbi.InheritedFromUniqueProcessId))
	if err != nil {
		return "", err
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return "", err
	}
	return windows.UTF16ToString(buf[:n]), nil
}

type service struct {
	stop  func()
	code  chan int      // the command's exit code, once it has ended
	ended chan struct{} // closed when svc.Run returns
}

func (s *service) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	const accepts = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptParamChange
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	for {
		select {
		case code := <-s.code:
			// A non-zero exit code is the service's own (a "service-specific
			// error"), so that sc query shows tokenkeeper's exit table.
			return code != 0, uint32(code)
		case r := <-req:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				s.stop()
			case svc.ParamChange:
				reload()
			}
		}
	}
}

var (
	reloadMu sync.Mutex
	reloads  []chan<- os.Signal
)

// notifyReload relays reload requests to c as syscall.SIGHUP (a service's
// ParamChange), until the function it returns is called.
func notifyReload(c chan<- os.Signal) func() {
	reloadMu.Lock()
	defer reloadMu.Unlock()
	reloads = append(reloads, c)
	return func() {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		reloads = slices.DeleteFunc(reloads, func(r chan<- os.Signal) bool { return r == c })
	}
}

// reload sends SIGHUP to every channel notifyReload registered, without
// waiting: one pending reload is as good as several.
func reload() {
	reloadMu.Lock()
	defer reloadMu.Unlock()
	for _, c := range reloads {
		select {
		case c <- syscall.SIGHUP:
		default:
		}
	}
}
