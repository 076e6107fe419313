//go:build !windows

package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// startService: only Windows has a service manager to answer.
func startService(func()) func(int) { return nil }

// notifyReload relays SIGHUP to c, until the function it returns is called.
func notifyReload(c chan<- os.Signal) func() {
	signal.Notify(c, syscall.SIGHUP)
	return func() { signal.Stop(c) }
}
