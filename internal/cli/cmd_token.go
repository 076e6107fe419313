package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

type tokenOpts struct {
	header   bool
	minValid time.Duration
}

func tokenCommand() *command {
	return &command{
		name: "token", args: "[options]", summary: "print a valid access token",
		fast: true, // the hot path of scripts: see runFast
		long: `Print a valid access token and a newline on stdout, nothing else, renewing it
first if needed. A valid token on disk costs one read of one file.`,
		example: `curl -H "Authorization: Bearer $(tokenkeeper token)" https://api.example.com/
curl -H "$(tokenkeeper token --header)" https://api.example.com/
tokenkeeper --profile eu token --min-valid 10m`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			o := &tokenOpts{}
			fs.BoolVar(&o.header, "header", false, "print it as an HTTP header: Authorization: Bearer …")
			fs.Var(durationFlag{&o.minValid}, "min-valid", "renew unless the access token is valid for at least `DUR`")
			return func(a *app, args []string) int { return a.cmdToken(o) }
		},
	}
}

func (a *app) cmdToken(o *tokenOpts) int {
	m, err := a.manager("tokenkeeper token", false, true)
	if err != nil {
		return a.fail(err)
	}
	r, code := a.ensure(m, refresh.Options{MinValid: o.minValid})
	if code >= 0 {
		return code
	}
	a.warnMinValid(o.minValid, r.Token)
	tok := r.Token.AccessToken
	if strings.ContainsAny(tok, "\r\n") {
		return a.fail(&refresh.Error{Kind: refresh.KindTemporary, Msg: "the access token contains a line break; refusing to print it",
			Hint: "the token endpoint answered something odd: run " + a.cmdLine("refresh --force -v")})
	}
	if o.header {
		fmt.Fprintf(a.stdout, "Authorization: Bearer %s\n", tok)
	} else {
		fmt.Fprintf(a.stdout, "%s\n", tok)
	}
	return exitOK
}
