// Command tokenkeeper keeps an OAuth 2.0 access token and its refresh token alive
// on disk, so that cron jobs, scripts and Go programs always get a valid bearer
// token. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

func main() {
	ctx := &signalContext{Context: context.Background()}
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	ctx.stopSignals()
	os.Exit(code)
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
