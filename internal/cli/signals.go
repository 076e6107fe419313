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
	ctx.stopSignals()
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
type signalContext struct {
	context.Context // Background: no deadline, no values
	once            sync.Once
	ctx             context.Context
	stop            context.CancelFunc
}

func (s *signalContext) init() {
	s.ctx, s.stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(s.ctx, s.stop)
}

func (s *signalContext) Done() <-chan struct{} {
	s.once.Do(s.init)
	return s.ctx.Done()
}

func (s *signalContext) Err() error {
	s.once.Do(s.init)
	return s.ctx.Err()
}

func (s *signalContext) stopSignals() {
	s.once.Do(func() {}) // never installed: nothing to stop
	if s.stop != nil {
		s.stop()
	}
}
