package cli

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

type tokenOpts struct {
	header   bool
	minValid time.Duration
	format   *string
}

func tokenCommand() *command {
	return &command{
		name: "token", args: "[options]", summary: "print a valid access token",
		long: `Print a valid access token and a newline on stdout, nothing else, renewing it
first if needed. A valid token on disk costs one read of one file. -o chooses
the format: raw (the default), header (as --header), json (access_token,
token_type, expires_at, scope; never the refresh token), env (shell export
lines), powershell ($env: assignments, for Invoke-Expression) or
exec-credential (a Kubernetes client.authentication.k8s.io/v1 ExecCredential).`,
		example: `curl -H "Authorization: Bearer $(tokenkeeper token)" https://api.example.com/
curl -H "$(tokenkeeper token --header)" https://api.example.com/
eval "$(tokenkeeper token -o env)"
tokenkeeper token -o powershell | Invoke-Expression     # PowerShell
tokenkeeper token -o exec-credential     # a kubectl exec plugin
tokenkeeper --profile eu token --min-valid 10m`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			o := &tokenOpts{}
			fs.BoolVar(&o.header, "header", false, "print it as an HTTP header: Authorization: Bearer …")
			fs.Var(durationFlag{&o.minValid}, "min-valid", "renew unless the access token is valid for at least `DUR`")
			o.format = outputFlag(fs)
			return func(a *app, args []string) int { return a.exit(a.cmdToken(o)) }
		},
	}
}

func (a *app) cmdToken(o *tokenOpts) error {
	if err := checkFormat(o.format, o.header); err != nil {
		return err
	}
	inline := *o.format == formatExecCredential
	if inline {
		a.inline("kubectl runs it again on its next command")
	}
	a.oneDeadline()
	m, err := a.manager("tokenkeeper token", false, false)
	if err != nil {
		return err
	}
	if inline {
		a.rememberOutage(m)
	}
	r, err := a.ensure(m, refresh.Options{MinValid: o.minValid})
	if err != nil {
		return err
	}
	a.warnMinValid(o.minValid, r.Token)
	return writeToken(a.stdout, *o.format, r.Token, a.g.margin)
}
