// Command tokenkeeper keeps an OAuth 2.0 access token and its refresh token alive
// on disk, so that cron jobs, scripts and Go programs always get a valid bearer
// token. See README.md; the commands live in internal/cli.
//
// updatemaxprocs=0: GOMAXPROCS is still set from the CPU limit at start, but
// no goroutine is started to follow later changes of it. Most runs last a few
// milliseconds (`tokenkeeper token`), where that goroutine costs 1–3% of the
// process (BENCHMARKS.md); watch and serve are idle between renewals.
//
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/tokenkeeper/tokenkeeper/internal/cli"
)

func main() { os.Exit(cli.Main()) }
