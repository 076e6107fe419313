package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

type refreshOpts struct {
	quiet, force, retry bool
	minValid            time.Duration
	fleet               fleetOpts
}

func refreshCommand() *command {
	return &command{
		name: "refresh", args: "[options]", summary: "the lifecycle once: the cron entry point",
		long: `Run the lifecycle once: renew the access token when less than the margin is
left (with the refresh token, or a new grant from credentials.json when the
refresh token is dead), save it atomically, and say what was done. The exit
code tells cron what to do: 75 retry later, 77 a human must act, 78 fix
credentials.json. A refusal is remembered: later runs send nothing until
credentials.json changes, or a person runs refresh --retry, which asks once
more.`,
		example: `tokenkeeper refresh
tokenkeeper refresh --retry                  # after a refusal, once the provider has recovered
*/30 * * * * tokenkeeper refresh --quiet      # crontab
tokenkeeper --config-dir /etc/tokenkeeper refresh --all --quiet`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			o := &refreshOpts{}
			fs.BoolVar(&o.quiet, "quiet", false, "print nothing on success (warnings still)")
			fs.BoolVar(&o.force, "force", false, "renew even if the access token is valid")
			fs.BoolVar(&o.retry, "retry", false, "ask the provider once more past a remembered refusal, with credentials.json as it is")
			fs.Var(durationFlag{&o.minValid}, "min-valid", "renew unless the access token is valid for at least `DUR`")
			o.fleet.register(fs, "every profile under the config and state roots")
			return func(a *app, args []string) int { return a.exit(a.cmdRefresh(o)) }
		},
	}
}

func (a *app) cmdRefresh(o *refreshOpts) error {
	ro := refresh.Options{Force: o.force, MinValid: o.minValid, Retry: o.retry}
	if o.fleet.all {
		if err := o.fleet.check(); err != nil {
			return err
		}
		return a.refreshAll(ro, o.quiet, o.fleet.concurrency)
	}
	a.oneDeadline()
	m, err := a.manager("tokenkeeper refresh", true, false)
	if err != nil {
		return err
	}
	r, err := a.ensure(m, ro)
	if err != nil {
		return err
	}
	a.warnMinValid(o.minValid, r.Token)
	if !o.quiet {
		a.info("%s: access token %s", r.Action, describeExpiry(time.Now(), r.Token.Expiry, "with unknown expiry"))
	}
	return nil
}
