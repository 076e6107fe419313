// Command tokenkeeper keeps an OAuth 2.0 access token and its refresh token alive
// on disk, so that cron jobs, scripts and Go programs always get a valid bearer
// token. See README.md; the commands live in internal/cli.
package main

import (
	"os"

	"github.com/tokenkeeper/tokenkeeper/internal/cli"
)

func main() { os.Exit(cli.Main()) }
