package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

const usage = `Usage:
    tokenkeeper [global options] [command] [command options]

tokenkeeper keeps an OAuth 2.0 access token and its refresh token alive on disk.
With no command it does what the SAP Concur tutorial's program does: the first run
writes a credentials.json template; later runs renew the token when needed and
print its status.

Commands:
    init            write the credentials.json template (never overwrites)
    setup           first-run wizard: asks on a terminal, else takes flags (--preset, --no-input, --wait)
    login           log in at the provider in a browser (--no-browser: print the URL only; --device)
    logout          revoke the refresh token at the provider and forget it
    refresh         the lifecycle once: the cron entry point (--quiet, --force, --min-valid, --all)
    token           print a valid access token (-o raw|header|json|env|exec-credential; --header: -o header)
    git-credential  git's credential helper: the access token as password (get, store, erase)
    serve           answer GET /token on a unix socket (--socket) or loopback port (--listen)
    status          show files, expiries and warnings (--json; --all)
    exec -- CMD     run CMD with TOKENKEEPER_ACCESS_TOKEN in its environment
    watch           stay running and renew shortly before expiry (--all: every profile)
    profiles        list the profiles under the config and state roots
    demo            the whole lifecycle against a built-in token endpoint
    version         print version and build information

Global options (before the command; each also read from TOKENKEEPER_<NAME>):
    --profile NAME      profile (default "default")
    --dir DIR           keep both files of the profile directly in DIR (the tutorial's layout)
    --config-dir DIR    root of per-profile credentials directories (default $XDG_CONFIG_HOME/tokenkeeper)
    --state-dir DIR     root of per-profile token directories (default $XDG_STATE_HOME/tokenkeeper)
    --margin DUR        renew when less than this is left (default 60s)
    --timeout DUR       bound on all attempts at the token endpoint (default 30s)
    --lock-timeout DUR  bound on waiting for another tokenkeeper (default 60s)
    --warn-before DUR   warn when the refresh token expires within this (default 168h)
    --log-format F      text or json (default text)
    -v                  verbose: log each step on stderr

Exit codes:
    0 ok, 1 unexpected error, 2 usage, 75 temporary failure (retry later),
    77 a human must re-authorise, 78 credentials missing, incomplete or invalid
    login: 77 refused (access_denied), 75 not finished (expired_token, timed out,
    interrupted): run it again, 78 the provider refused the client or the request

Example:
    $ tokenkeeper            # first run: writes credentials.json, exits 78
    $ $EDITOR ~/.config/tokenkeeper/default/credentials.json
    $ tokenkeeper refresh
    $ curl -H "$(tokenkeeper token --header)" https://us.api.concursolutions.com/...
    */30 * * * * tokenkeeper refresh --quiet      # crontab
`

// app is one invocation: its streams, environment and global settings.
type app struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	g       globals
	paths   storage.Paths
	secrets []string
	log     *slog.Logger
	// onFail, when set, is told of each failure fail reports: refresh --all
	// groups its profiles' failures by exit code and hint.
	onFail func(code int, hint string)
}

type globals struct {
	profile, dir, configDir, stateDir        string
	margin, timeout, lockTimeout, warnBefore time.Duration
	logFormat                                string
	verbose                                  bool
	sources                                  map[string]string
}

type command func(a *app, args []string) int

// commands maps each command name to its implementation (one file per command).
// A function, not a variable: demo runs commands, which would make a cycle.
func commands() map[string]command {
	return map[string]command{
		"":         (*app).cmdRun,
		"init":     (*app).cmdInit,
		"setup":    (*app).cmdSetup,
		"login":    (*app).cmdLogin,
		"logout":   (*app).cmdLogout,
		"refresh":  (*app).cmdRefresh,
		"token":    (*app).cmdToken,
		"status":   (*app).cmdStatus,
		"exec":     (*app).cmdExec,
		"watch":    (*app).cmdWatch,
		"profiles": (*app).cmdProfiles,
		"demo":     (*app).cmdDemo,
		"version":  (*app).cmdVersion,

		"git-credential": (*app).cmdGitCredential,
		"serve":          (*app).cmdServe,
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	defer a.recoverPanic(&code)
	return a.main(args)
}

func (a *app) main(args []string) int {
	fs := flag.NewFlagSet("tokenkeeper", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	a.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, usage)
			return exitOK
		}
		return a.usageError(err.Error(), "run tokenkeeper -h for the options; global options come before the command")
	}
	if err := a.g.applyEnv(fs, a.getenv); err != nil {
		return a.usageError(err.Error(), "fix the TOKENKEEPER_* variable, or unset it")
	}
	a.log = slog.New(redactHandler{newLogger(a.stderr, a.g.logFormat, a.g.verbose).Handler(), a.redact})
	name, rest := fs.Arg(0), []string{}
	if fs.NArg() > 1 {
		rest = fs.Args()[1:]
	}
	if name == "help" {
		fmt.Fprint(a.stdout, usage)
		return exitOK
	}
	cmd, ok := commands()[name]
	if !ok {
		return a.usageError(fmt.Sprintf("unknown command %q", name), "run tokenkeeper -h for the list of commands")
	}
	if name != "version" && name != "demo" {
		if code := a.resolvePaths(); code != exitOK {
			return code
		}
	}
	return cmd(a, rest)
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.profile, "profile", "", "")
	fs.StringVar(&g.dir, "dir", "", "")
	fs.StringVar(&g.configDir, "config-dir", "", "")
	fs.StringVar(&g.stateDir, "state-dir", "", "")
	fs.Var(durationFlag{&g.margin}, "margin", "")
	fs.Var(durationFlag{&g.timeout}, "timeout", "")
	fs.Var(durationFlag{&g.lockTimeout}, "lock-timeout", "")
	fs.Var(durationFlag{&g.warnBefore}, "warn-before", "")
	fs.StringVar(&g.logFormat, "log-format", "text", "")
	fs.BoolVar(&g.verbose, "v", false, "")
	g.margin, g.timeout, g.lockTimeout, g.warnBefore = refresh.DefaultMargin, refresh.DefaultTimeout, refresh.DefaultLockTimeout, refresh.DefaultWarnBefore
}

// applyEnv fills each global flag not given on the command line from
// TOKENKEEPER_<NAME> (TOKENKEEPER_VERBOSE for -v), and records where each value
// came from, for status and messages.
func (g *globals) applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	g.sources = map[string]string{}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, name := range names {
		if set[name] {
			g.sources[name] = "--" + name + " flag"
			continue
		}
		env := envName(name)
		v := getenv(env)
		if v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return fmt.Errorf("%s=%q: %v", env, v, err)
		}
		g.sources[name] = env
	}
	if g.logFormat != "text" && g.logFormat != "json" {
		return fmt.Errorf("--log-format %q: want text or json", g.logFormat)
	}
	return nil
}

func envName(flagName string) string {
	if flagName == "v" {
		return "TOKENKEEPER_VERBOSE"
	}
	return "TOKENKEEPER_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// durationFlag takes a Go duration ("90s", "1h30m") or a bare number of seconds,
// which is what people write in crontabs and unit files.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return errors.New("must not be negative")
		}
		*f.d = time.Duration(n * float64(time.Second))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (like 90s, 5m, 1h)", s)
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*f.d = d
	return nil
}

func (a *app) resolvePaths() int {
	var err error
	a.paths, err = storage.Resolve(storage.Options{
		Profile: a.g.profile, Dir: a.g.dir, ConfigDir: a.g.configDir, StateDir: a.g.stateDir,
	}, map[string]string{
		"profile": a.g.sources["profile"], "dir": a.g.sources["dir"],
		"config-dir": a.g.sources["config-dir"], "state-dir": a.g.sources["state-dir"],
	})
	if err != nil {
		return a.usageError(err.Error(), "a profile name is letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	return exitOK
}

// newFlags makes a command's flag set; errors are reported by parseFlags.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses a command's flags; it returns -1 to go on, or an exit code.
func (a *app) parseFlags(fs *flag.FlagSet, args []string, maxArgs int) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(a.stdout, usage)
			return exitOK
		}
		return a.usageError(fmt.Sprintf("%s: %v", fs.Name(), err), "run tokenkeeper -h for the options")
	}
	if fs.NArg() > maxArgs {
		return a.usageError(fmt.Sprintf("%s: unexpected argument %q", fs.Name(), fs.Arg(maxArgs)),
			"global options go before the command: tokenkeeper --profile NAME "+fs.Name())
	}
	return -1
}

// newLogger makes the -v log (text) or, with --log-format json, the log that
// carries every message: there, informational messages are INFO records, as
// the text mode prints them too.
func newLogger(w io.Writer, format string, verbose bool) *slog.Logger {
	level := slog.LevelWarn
	if format == "json" {
		level = slog.LevelInfo
	}
	if verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
