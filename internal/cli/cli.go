package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/etcd"
	"github.com/tokenkeeper/tokenkeeper/storage/kube"
)

// app is one invocation: its streams, environment and global settings.
type app struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string

	g       globals
	paths   storage.Paths
	secrets *secretList
	log     *slog.Logger
	// onFail, when set, is told of each failure fail reports: refresh --all
	// groups its profiles' failures by exit code and hint.
	onFail func(code int, hint string)
	// rerun is the command that a hint tells a person to run once its fix
	// is made (refresh.NextRunAgain), or later (refresh.NextLater): "" is
	// refresh; login and logout set their own, as there is no grant to
	// refresh until a login succeeds, and a refresh after a failed logout
	// would start a new grant.
	rerun string

	etcd *etcd.Client // the --store client, made on first use (store.go)
	kube *kube.Client // or the Kubernetes one
	// listed is set on a fleet's copy of the app (forProfile): its profile
	// came from a listing, not from a person's typing.
	listed bool
	// budget is the run's one deadline for the store and the token
	// endpoint (oneDeadline); nil for the commands that have none.
	budget *storage.Budget
	// again, for a run a program makes inline (inline) and for serve, is
	// what a hint says of running again later: that program (or serve, on
	// the next request) does, not cron.
	again string
}

type globals struct {
	profile, dir, configDir, stateDir        string
	margin, timeout, lockTimeout, warnBefore time.Duration
	logFormat                                string
	store                                    string // --store URL; "" = the file store (store.go)
	verbose                                  bool
	sources                                  map[string]string
	flags                                    *pflag.FlagSet // the command line's flags, as parsed
	global                                   []*pflag.Flag  // the global ones among them
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	defer a.recoverPanic(&code)
	return a.main(args)
}

// start runs a command once its flags are parsed: the TOKENKEEPER_*
// environment fills the global flags not given, then the profile's paths are
// resolved (unless the command needs none) and the command runs.
func (a *app) start(c *command, run func(a *app, args []string) int, args []string) int {
	if err := a.g.applyEnv(a.getenv); err != nil {
		if _, ok := err.(*flagValueError); ok {
			return a.usageError(err.Error(), optionsHint(c))
		}
		return a.usageError(err.Error(), "fix the TOKENKEEPER_* variable, or unset it")
	}
	a.log = slog.New(redactHandler{newLogger(a.stderr, a.g.logFormat, a.g.verbose).Handler(), a.redact})
	if code := a.checkStore(); code != exitOK {
		return code
	}
	if !c.noPaths {
		if code := a.resolvePaths(); code != exitOK {
			return code
		}
	}
	return run(a, args)
}

// logFormats are --log-format's values.
var logFormats = []string{"text", "json"}

// register defines the global flags in fs, a new flag set: they come first,
// before any command's, and applyEnv fills them from TOKENKEEPER_*.
func (g *globals) register(fs *pflag.FlagSet) {
	g.margin, g.timeout, g.lockTimeout, g.warnBefore = refresh.DefaultMargin, refresh.DefaultTimeout, refresh.DefaultLockTimeout, refresh.DefaultWarnBefore
	fs.StringVar(&g.profile, "profile", "", "the profile `NAME`, a sub-directory of each root (default \"default\")")
	fs.StringVar(&g.dir, "dir", "", "keep both files of the profile directly in `DIR` (the tutorial's layout)")
	fs.StringVar(&g.configDir, "config-dir", "", "`DIR` holding a credentials directory per profile (default $XDG_CONFIG_HOME/tokenkeeper)")
	fs.StringVar(&g.stateDir, "state-dir", "", "`DIR` holding a token directory per profile (default $XDG_STATE_HOME/tokenkeeper)")
	fs.Var(durationFlag{&g.margin}, "margin", "renew when less than `DUR` is left")
	fs.Var(durationFlag{&g.timeout}, "timeout", "give up on the store and the token endpoint after `DUR`, all of one run (10s unless given for token -o exec-credential and git-credential get)")
	fs.Var(durationFlag{&g.lockTimeout}, "lock-timeout", "wait at most `DUR` for another tokenkeeper")
	fs.Var(durationFlag{&g.warnBefore}, "warn-before", "warn when the refresh token expires within `DUR`")
	fs.StringVar(&g.logFormat, "log-format", "text", "messages as `FORMAT`: text or json")
	fs.StringVar(&g.store, "store", "", "keep the token record in etcd or Kubernetes for many hosts: `URL` etcd://HOST:PORT[,…][/PREFIX]; etcds:// for TLS, with the files in ?ca=, &cert= and &key=; a user in ?user=, its password in TOKENKEEPER_STORE_PASSWORD; or k8s://NAMESPACE[/PREFIX] (a Secret and a Lease, reached as kubectl does)")
	fs.BoolVarP(&g.verbose, "verbose", "v", false, "log each step on stderr")
	_ = fs.SetAnnotation("profile", completeAnnotation, completeProfiles)
	for _, name := range []string{"dir", "config-dir", "state-dir"} {
		_ = fs.SetAnnotation(name, completeAnnotation, completeDirs)
	}
	_ = fs.SetAnnotation("log-format", completeAnnotation, logFormats)
	g.flags, g.global = fs, nil
	fs.VisitAll(func(f *pflag.Flag) { g.global = append(g.global, f) }) // fs held none before
}

// rootsGiven tells whether --config-dir or --state-dir was given on the
// command line: a TOKENKEEPER_DIR from the environment, which would put both
// files elsewhere and ignore them, then gives way (the flag wins). --profile
// does not: with a directory it names the profile (the scheduler's lines
// are TOKENKEEPER_DIR=… tokenkeeper --profile NAME refresh).
func (g *globals) rootsGiven() bool {
	for _, name := range []string{"config-dir", "state-dir"} {
		if f := g.flags.Lookup(name); f != nil && f.Changed {
			return true
		}
	}
	return false
}

// applyEnv fills each global flag not given on the command line from
// TOKENKEEPER_<NAME>, and records where each value came from, for status and
// for the hints, which repeat the flags the user gave.
func (g *globals) applyEnv(getenv func(string) string) error {
	g.sources = map[string]string{}
	for _, f := range g.global { // in the order register defines them
		if f.Changed {
			g.sources[f.Name] = "--" + f.Name + " flag"
			continue
		}
		env := envName(f.Name)
		v := getenv(env)
		if v == "" || f.Name == "dir" && g.rootsGiven() {
			continue
		}
		if err := g.flags.Set(f.Name, v); err != nil {
			return fmt.Errorf("%s=%q: %v", env, v, err)
		}
		g.sources[f.Name] = env
	}
	if !slices.Contains(logFormats, g.logFormat) {
		if g.sources["log-format"] != "TOKENKEEPER_LOG_FORMAT" {
			return &flagValueError{fmt.Sprintf("--log-format %q: want %s", g.logFormat, strings.Join(logFormats, " or "))}
		}
		return fmt.Errorf("TOKENKEEPER_LOG_FORMAT=%q: want %s", g.logFormat, strings.Join(logFormats, " or "))
	}
	return nil
}

// flagValueError is a flag given on the command line with a value no
// command takes.
type flagValueError struct{ msg string }

func (e *flagValueError) Error() string { return e.msg }

// envName is TOKENKEEPER_ and the flag's name in upper case, - as _ (one
// allocation: applyEnv makes a dozen on every run).
func envName(flagName string) string {
	var b strings.Builder
	b.Grow(len("TOKENKEEPER_") + len(flagName))
	b.WriteString("TOKENKEEPER_")
	for i := 0; i < len(flagName); i++ {
		switch c := flagName[i]; {
		case c == '-':
			b.WriteByte('_')
		case 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// durationFlag takes a Go duration ("90s", "1h30m") or a bare number of seconds,
// which is what people write in crontabs and unit files.
type durationFlag struct{ d *time.Duration }

func (f durationFlag) Type() string { return "duration" }

// String is "0" for zero, which help leaves out as a default.
func (f durationFlag) String() string {
	if f.d == nil || *f.d == 0 {
		return "0"
	}
	return f.d.String()
}

func (f durationFlag) Set(s string) error {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		switch {
		case n < 0:
			return errors.New("must not be negative")
		case math.IsNaN(n) || n*float64(time.Second) >= math.MaxInt64:
			// NaN, Inf and 1e300 seconds would turn into a negative
			// duration (a timeout past before the run starts).
			return fmt.Errorf("%q is not a duration tokenkeeper can wait (at most %.0f seconds)", s, math.Floor(float64(math.MaxInt64)/float64(time.Second)))
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
	var he *storage.HomeError
	if errors.As(err, &he) {
		return a.fail(&refresh.Error{Kind: refresh.KindCredentials, Err: err, Msg: err.Error(), Hint: homeHint(he)})
	}
	if err != nil {
		return a.usageError(err.Error(), "a profile name is letters, digits, '.', '_' and '-', starting with a letter or digit")
	}
	return exitOK
}

// homeHint says what to set when HOME is unset (a bare cron or systemd
// environment): HOME, the XDG variables, or the directory flags.
func homeHint(he *storage.HomeError) string {
	flags := map[string]string{"XDG_CONFIG_HOME": "--config-dir DIR", "XDG_STATE_HOME": "--state-dir DIR"}
	var vars, dirs []string
	for _, v := range he.Vars {
		vars, dirs = append(vars, v), append(dirs, flags[v])
	}
	paths := "an absolute path"
	if len(vars) > 1 {
		paths = "absolute paths"
		dirs = []string{"--dir DIR (both files in DIR)", strings.Join(dirs, " and ")}
	}
	return fmt.Sprintf("set HOME (or %s to %s), or give %s", strings.Join(vars, " and "), paths, strings.Join(dirs, ", or "))
}

// cmdLine is "tokenkeeper [the profile, directory and store flags the user gave] CMD",
// a command the user can paste as is: every hint that names a command is made
// here. Values that came from TOKENKEEPER_* variables are left out: the same
// shell has them still.
func (a *app) cmdLine(cmd string) string {
	parts := []string{"tokenkeeper"}
	for _, f := range []struct{ name, value string }{
		{"profile", a.g.profile}, {"dir", a.g.dir}, {"config-dir", a.g.configDir}, {"state-dir", a.g.stateDir},
		{"store", a.g.store}, // a hint without it would act on the local file
	} {
		if a.flagGiven(f.name) && (f.name != "store" || storeURLShowable(f.value)) {
			parts = append(parts, "--"+f.name, shellQuote(f.value))
		}
	}
	if cmd != "" {
		parts = append(parts, cmd)
	}
	return strings.Join(parts, " ")
}

// storeURLShowable tells whether a --store value may be repeated in a hint: a
// URL that etcd.ParseURL refuses may hold a password (etcd://user:pw@…), and
// a hint can be printed before the URL is checked (a misspelt command).
func storeURLShowable(raw string) bool {
	if kube.IsURL(raw) {
		_, err := kube.ParseURL(raw)
		return err == nil
	}
	_, err := etcd.ParseURL(raw)
	return err == nil
}

// flagGiven tells whether the user gave a global flag on the command line.
func (a *app) flagGiven(name string) bool {
	if a.g.sources != nil {
		return strings.HasPrefix(a.g.sources[name], "--")
	}
	if a.g.flags == nil { // the flags were not parsed
		return false
	}
	f := a.g.flags.Lookup(name)
	return f != nil && f.Changed
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
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(&lineHandler{w: w, level: level})
}
