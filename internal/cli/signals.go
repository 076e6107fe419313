package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Main runs tokenkeeper with the process's arguments and streams, and returns
// its exit code (exits.go's table).
func Main() int {
	ctx := &signalContext{Context: context.Background()}
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	ctx.stopSignals(code)
	return code
}

// Run is one invocation of tokenkeeper with the given arguments (without the
// program name) and streams; it returns the exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, stdin, stdout, stderr)
}

// signalContext is cancelled by SIGINT or SIGTERM, but installs its handler only
// when something first waits on it. The fast path of `tokenkeeper token` — one
// read, one parse, one print — never does, and is spared the signal goroutine and
// its threads (a measurable part of a 2 ms process). Before the handler is in
// place, a signal ends the process at once, which is harmless: nothing has been
// sent or written yet.
//
// The first signal cancels the context; a refresh already sent still finishes and
// is saved (its answer may hold the only copy of a rotated refresh token). A
// second signal kills at once, as without the handler.
//
// On Windows, Go delivers Ctrl-C and Ctrl-Break as os.Interrupt, and closing the
// console, logging off and shutting down as SIGTERM. A process that the service
// manager started (watch or serve run as a Windows service) also answers it from
// here: a Stop or Shutdown request cancels the context as SIGTERM does
// (startService).
type signalContext struct {
	context.Context // Background: no deadline, no values
	once            sync.Once
	ctx             context.Context
	stop            context.CancelFunc
	endService      func(code int) // nil unless running as a Windows service
}

func (s *signalContext) init() {
	s.ctx, s.stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(s.ctx, s.stop)
	s.endService = startService(s.stop)
}

func (s *signalContext) Done() <-chan struct{} {
	s.once.Do(s.init)
	return s.ctx.Done()
}

func (s *signalContext) Err() error {
	s.once.Do(s.init)
	return s.ctx.Err()
}

// stopSignals removes the handler, and tells the service manager, when it
// started this process, that the service stopped with exit code code.
func (s *signalContext) stopSignals(code int) {
	installed := true
	s.once.Do(func() { installed = false }) // never installed: nothing to stop
	if s.stop != nil {
		s.stop()
	}
	end := s.endService
	if !installed && code != exitOK {
		// A service that failed before it waited for a signal (a missing
		// profile, a wrong flag) still reports its exit code, where the
		// service manager would otherwise wait 30 seconds and report that it
		// never answered.
		end = startService(func() {})
	}
	if end != nil {
		end(code)
	}
}
