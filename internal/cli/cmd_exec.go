package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// Exit codes of exec when the command cannot be run, as shells use them.
const (
	exitCannotExecute = 126
	exitNotFound      = 127
)

// cmdExec renews the token if needed and runs a command with it in the
// environment — never in argv, where ps and /proc/PID/cmdline show it to every
// user. The child's exit code becomes ours (128+N when signal N killed it).
func execCommand() *command {
	return &command{
		name: "exec", args: "[options] -- CMD [ARGS…]", summary: "run CMD with TOKENKEEPER_ACCESS_TOKEN in its environment",
		long: `Renew the token if needed and run CMD with it in the environment as
TOKENKEEPER_ACCESS_TOKEN (and TOKENKEEPER_API_BASE where the token URL's
geolocation is known), never in argv. The child's environment loses every
variable that carries a secret to tokenkeeper. The child's exit code becomes
tokenkeeper's (128+N when signal N killed it).`,
		example: `tokenkeeper exec -- sh -c 'curl -H "Authorization: Bearer $TOKENKEEPER_ACCESS_TOKEN" https://api.example.com/'
tokenkeeper --profile eu exec --min-valid 30m -- ./report.sh`,
		maxArgs: -1,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			var minValid time.Duration
			fs.Var(durationFlag{&minValid}, "min-valid", "renew unless the access token is valid for at least `DUR`")
			fs.SetInterspersed(false) // CMD's own flags are CMD's
			return func(a *app, args []string) int { return a.exit(a.cmdExec(minValid, args)) }
		},
	}
}

func (a *app) cmdExec(minValid time.Duration, args []string) error {
	if len(args) == 0 {
		return usageErr("exec: no command given", a.cmdLine("exec -- CMD ARGS…"))
	}
	a.oneDeadline()
	m, err := a.manager("tokenkeeper exec", false, false)
	if err != nil {
		return err
	}
	r, err := a.ensure(m, refresh.Options{MinValid: minValid})
	if err != nil {
		return err
	}
	a.warnMinValid(minValid, r.Token)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
	cmd.Env = childEnv(os.Environ(), r.Token)
	return runChild(cmd)
}

// childEnv is secretFreeEnv(env) plus this token's variables: the API base
// only where the token names one (its geolocation).
func childEnv(env []string, tok *refresh.Token) []string {
	out := secretFreeEnv(env)
	for _, kv := range tokenEnv(tok) {
		out = append(out, kv[0]+"="+kv[1])
	}
	return out
}

// secretFreeEnv is the environment of every process tokenkeeper starts (exec's
// command, login's browser): env without the variables that carry a secret to
// tokenkeeper (credentials.SecretEnv, and the store's password: a child gets
// the access token at most, never what makes one), and without any inherited
// TOKENKEEPER_ACCESS_TOKEN, TOKENKEEPER_API_BASE… (from an outer exec, of
// another profile, say). Names are compared ignoring case: Windows's are
// case-insensitive, and tokenkeeper reads tokenkeeper_client_secret there as
// TOKENKEEPER_CLIENT_SECRET; elsewhere such a name is as plainly a secret.
func secretFreeEnv(env []string) []string {
	drop := append([]string{envAccessToken, envAPIBase, envTokenType, envExpiresAt, storePasswordEnv}, credentials.SecretEnv()...)
	out := make([]string, 0, len(env)+4)
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(drop, func(d string) bool { return strings.EqualFold(d, name) }) {
			out = append(out, kv)
		}
	}
	return out
}

// runChild runs cmd; its error carries the child's exit code (exitStatus).
func runChild(cmd *exec.Cmd) error {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return startFailed(cmd.Path, err)
	}
	fromTTY := inForegroundOfTTY()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				// Ctrl-C and Ctrl-\ at a terminal reach the whole foreground process
				// group, the child included: passing them on would deliver them twice.
				if fromTTY && (s == syscall.SIGINT || s == syscall.SIGQUIT) {
					continue
				}
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitStatus(128 + int(ws.Signal()))
		}
		return exitStatus(ee.ExitCode())
	}
	return &cmdError{exitError, fmt.Sprintf("exec: %s: %v", cmd.Path, err), nil}
}

// startFailed reports a command that could not be started with the shells' codes:
// 127 not found, 126 found but not executable. A name with a directory in it
// was not looked up in $PATH: the hint says what is wrong with that file.
func startFailed(name string, err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return &cmdError{exitNotFound, fmt.Sprintf("exec: %s: command not found", name),
			[]string{"give the full path of the command, or check $PATH"}}
	}
	st, statErr := os.Stat(name)
	switch {
	case statErr == nil && st.IsDir():
		return &cmdError{exitCannotExecute, fmt.Sprintf("exec: %s: is a directory", name),
			[]string{"give the command's file after --, not a directory"}}
	case errors.Is(err, os.ErrNotExist) && statErr == nil:
		// The file is there: what is missing is what runs it, the
		// interpreter its #! line names (or a binary's loader). Shells say
		// "bad interpreter" and 126.
		return &cmdError{exitCannotExecute, fmt.Sprintf("exec: %s: the interpreter on its #! line (or its loader) was not found", name),
			[]string{"check the first line of " + name}}
	case errors.Is(err, os.ErrNotExist):
		return &cmdError{exitNotFound, fmt.Sprintf("exec: %s: no such file", name),
			[]string{"check the path, or give a command's name alone to look it up in $PATH"}}
	}
	return &cmdError{exitCannotExecute, fmt.Sprintf("exec: %s: %v", name, err), []string{"check that the file is executable (chmod +x)"}}
}
