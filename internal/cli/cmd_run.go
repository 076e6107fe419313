package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// rootCommand is tokenkeeper with no command: the tutorial's program.
func rootCommand() *command {
	return &command{
		args: "[command] [options]",
		long: `tokenkeeper keeps an OAuth 2.0 access token and its refresh token alive on disk.
With no command it does what the SAP Concur tutorial's program does: the first run
writes a credentials.json template; later runs renew the token when needed and
print its status.`,
		example: `tokenkeeper            # first run: writes credentials.json, exits 78
$EDITOR ~/.config/tokenkeeper/default/credentials.json
tokenkeeper refresh
curl -H "$(tokenkeeper token --header)" https://us.api.concursolutions.com/...
*/30 * * * * tokenkeeper refresh --quiet      # crontab`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			var showVersion bool
			fs.BoolVar(&showVersion, "version", false, "print the version and exit")
			return func(a *app, args []string) int {
				if showVersion {
					fmt.Fprint(a.stdout, versionText())
					return exitOK
				}
				return a.exit(a.cmdRun())
			}
		},
	}
}

// cmdRun is the tutorial's program: template on first run, then the lifecycle
// once and a short status.
func (a *app) cmdRun() error {
	m, err := a.manager("tokenkeeper", true, true)
	if err != nil {
		return err // errTemplateWritten, on the first run
	}
	r, err := a.ensure(m, refresh.Options{})
	if err != nil {
		return err
	}
	a.printSummary(r)
	return nil
}
