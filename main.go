// Command tokenkeeper keeps an OAuth 2.0 access token and its refresh token alive
// on disk, so that cron jobs, scripts and Go programs always get a valid bearer
// token. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels ctx; a refresh already sent still finishes and is
	// saved (its answer may hold the only copy of a rotated refresh token). A
	// second signal kills at once, as without the handler.
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
