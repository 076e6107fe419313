package cli

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/internal/editdist"
)

// command is one row of the command table: what its help, its man page, its
// completion and its run need. Each command's row and body live in the file
// named after it (cmd_token.go …); adding a command is that file and one line
// in commandTable.
type command struct {
	name    string // as typed after tokenkeeper
	args    string // what follows the name in the usage line, e.g. "[options]"
	summary string // one line, in the list of commands
	long    string // paragraphs under the usage line
	example string // shell lines, without a prompt
	maxArgs int    // positional arguments taken (-1: any number)
	noPaths bool   // runs without a profile (version, demo, completion)
	fast    bool   // tried without cobra first (see runFast)
	// validArgs, when set, lists what the shell completes as the argument.
	validArgs func(a *app) []string
	// flags registers the command's own flags and returns its run function,
	// bound to their values.
	flags func(fs *pflag.FlagSet) func(a *app, args []string) int
}

// commandTable lists the commands in the order help shows them. A function,
// not a variable: demo runs commands, which would make an initialisation cycle.
func commandTable() []*command {
	return []*command{
		initCommand(),
		setupCommand(),
		loginCommand(),
		logoutCommand(),
		refreshCommand(),
		tokenCommand(),
		gitCredentialCommand(),
		serveCommand(),
		statusCommand(),
		execCommand(),
		watchCommand(),
		profilesCommand(),
		storeCommand(),
		demoCommand(),
		versionCommand(),
		completionCommand(),
		helpCommand(),
	}
}

// runFast runs the command marked fast (token) when args hold nothing but
// global flags, its name and its own flags: the same flag definitions parsed by
// the same pflag, without building cobra's tree. Cobra's Execute (finding the
// command, merging flag sets, help and completion set-up) touches enough code
// to cost 0.1–0.2 ms of a 2–3 ms process, which SPEC §6 cannot spare. Anything
// else — an error, help, another command — returns false, and cobra runs.
func (a *app) runFast(table []*command, args []string) (int, bool) {
	for _, c := range table {
		if !c.fast || !slices.Contains(args, c.name) {
			continue
		}
		fs := pflag.NewFlagSet("tokenkeeper", pflag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Usage = func() {}
		a.g.register(fs)
		run := c.flags(fs)
		if fs.Parse(args) != nil || fs.NArg() != 1 || fs.Arg(0) != c.name {
			return 0, false
		}
		return a.start(c, run, nil), true
	}
	return 0, false
}

// newRoot builds the command tree for one invocation with args.
func (a *app) newRoot(args []string) *cobra.Command {
	sortOnce.Do(func() { cobra.EnableCommandSorting = false }) // the table's order
	root := a.cobraCommand(rootCommand())
	root.Use = "tokenkeeper " + rootCommand().args
	root.SuggestionsMinimumDistance = 2
	root.SilenceErrors, root.SilenceUsage = true, true
	root.CompletionOptions.DisableDefaultCmd = true
	// Help is written by helpText, not by cobra's text/template templates:
	// text/template makes reflect's MethodByName reachable, which stops the
	// linker from dropping unused methods (spf13/cobra#1956): 4 MB more binary
	// and a slower start for every run of tokenkeeper token.
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { fmt.Fprint(c.OutOrStdout(), helpText(c)) })
	root.SetUsageFunc(func(c *cobra.Command) error { _, err := fmt.Fprint(c.OutOrStderr(), helpText(c)); return err })
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &flagError{err} })
	a.g.register(root.PersistentFlags())
	table := commandTable()
	named := namedIn(table, args)
	for _, c := range table {
		if named != nil && !named[c.name] {
			continue
		}
		cc := a.cobraCommand(c)
		if c.name == "help" {
			root.SetHelpCommand(cc)
			continue
		}
		root.AddCommand(cc)
	}
	_ = root.RegisterFlagCompletionFunc("profile", a.completeProfiles)
	for _, dir := range []string{"dir", "config-dir", "state-dir"} {
		_ = root.MarkPersistentFlagDirname(dir) // the shell completes directories
	}
	root.SetArgs(args)
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	a.root = root
	return root
}

var sortOnce sync.Once

// namedIn returns the commands of the table whose names appear in args, or
// nil when the tree needs every command: for help, completion, or a name that
// is none of them (a misspelt command gets suggestions). Cobra can only run a
// command named in args, and registering the others' flags is most of what
// cobra adds to the fast path of tokenkeeper token (one read, one parse).
func namedIn(table []*command, args []string) map[string]bool {
	names := map[string]bool{}
	for _, c := range table {
		names[c.name] = false
	}
	found := false
	for _, arg := range args {
		if arg == "help" || arg == "-h" || arg == "--help" || arg == "completion" || strings.HasPrefix(arg, "__complete") {
			return nil
		}
		if seen, ok := names[arg]; ok && !seen {
			names[arg], found = true, true
		}
	}
	if !found {
		return nil
	}
	return names
}

func (a *app) cobraCommand(c *command) *cobra.Command {
	cc := &cobra.Command{
		Use: strings.TrimSpace(c.name + " " + c.args), Short: c.summary, Long: c.long, Example: c.example,
		DisableFlagsInUseLine: true, DisableAutoGenTag: true,
	}
	run := c.flags(cc.Flags())
	cc.Flags().BoolP("help", "h", false, "show this help")
	cc.Args = func(cmd *cobra.Command, args []string) error {
		if c.maxArgs >= 0 && len(args) > c.maxArgs {
			return &argError{cmd: cmd, arg: args[c.maxArgs]}
		}
		return nil
	}
	if c.validArgs != nil {
		cc.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return c.validArgs(a), cobra.ShellCompDirectiveNoFileComp
		}
	}
	cc.Run = func(cmd *cobra.Command, args []string) { a.code = a.start(c, run, args) }
	return cc
}

// argError is an argument a command does not take: on the root, a misspelt
// command.
type argError struct {
	cmd *cobra.Command
	arg string
}

func (e *argError) Error() string {
	if !e.cmd.HasParent() {
		return fmt.Sprintf("unknown command %q", e.arg)
	}
	return fmt.Sprintf("%s: unexpected argument %q", e.cmd.Name(), e.arg)
}

type flagError struct{ err error }

func (e *flagError) Error() string { return e.err.Error() }

// cobraError reports what cobra refused (an unknown command or flag, a bad
// value) as a usage error, with a suggestion when one is close.
func (a *app) cobraError(cmd *cobra.Command, err error) int {
	var ae *argError
	var fe *flagError
	name := ""
	if cmd != nil && cmd.HasParent() {
		name = cmd.Name()
	}
	switch {
	case errors.As(err, &ae) && !ae.cmd.HasParent():
		hint := "run tokenkeeper help for the list of commands"
		if s := ae.cmd.SuggestionsFor(ae.arg); len(s) > 0 {
			hint = fmt.Sprintf("did you mean %s? (tokenkeeper help lists the commands)", a.cmdLine(s[0]))
		}
		return a.usageError(err.Error(), hint)
	case errors.As(err, &ae):
		return a.usageError(err.Error(), fmt.Sprintf("run tokenkeeper help %s for its usage", name))
	case errors.As(err, &fe):
		msg := fe.Error()
		if name != "" {
			msg = name + ": " + msg
		}
		help := strings.TrimSpace("tokenkeeper help " + name)
		hint := fmt.Sprintf("run %s for the options", help)
		if s := suggestFlag(cmd, fe.Error()); s != "" {
			hint = fmt.Sprintf("did you mean %s? (%s lists the options)", s, help)
		}
		return a.usageError(msg, hint)
	}
	return a.usageError(err.Error(), "run tokenkeeper help")
}

// suggestFlag finds the flag closest to the unknown one pflag named in msg
// ("unknown flag: --forse", "unknown shorthand flag: 'q' in -quiet").
func suggestFlag(cmd *cobra.Command, msg string) string {
	var typed string
	switch {
	case strings.HasPrefix(msg, "unknown flag: --"):
		typed = strings.TrimPrefix(msg, "unknown flag: --")
	case strings.HasPrefix(msg, "unknown shorthand flag: ") && strings.Contains(msg, " in -"):
		typed = msg[strings.LastIndex(msg, " in -")+len(" in -"):]
	default:
		return ""
	}
	typed, _, _ = strings.Cut(typed, "=")
	best, bestD := "", 3
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := editdist.Levenshtein(typed, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	if best == "" {
		return ""
	}
	return "--" + best
}

// helpText gives every help page age's shape: Usage, what the command does,
// Options, Example.
func helpText(c *cobra.Command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n    %s\n", c.UseLine())
	if c.Long != "" {
		fmt.Fprintf(&b, "\n%s\n", c.Long)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\nCommands:\n")
		width := 0
		for _, sub := range c.Commands() {
			width = max(width, len(sub.Name()))
		}
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() || sub.Name() == "help" {
				fmt.Fprintf(&b, "    %-*s  %s\n", width, sub.Name(), sub.Short)
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		title := "Options:"
		if !c.HasParent() {
			title = "Global options (before or after the command; each also read from TOKENKEEPER_<NAME>):"
		}
		fmt.Fprintf(&b, "\n%s\n%s\n", title, optionLines(c.LocalFlags()))
	}
	if c.HasAvailableInheritedFlags() {
		fmt.Fprintf(&b, "\nGlobal options (also read from TOKENKEEPER_<NAME>):\n%s\n", optionLines(c.InheritedFlags()))
	}
	if c.HasExample() {
		fmt.Fprintf(&b, "\nExample:\n%s\n", indentLines(c.Example))
	}
	if !c.HasParent() {
		b.WriteString("\nRun tokenkeeper help COMMAND (or tokenkeeper COMMAND --help) for a command's options.\n")
	}
	return b.String()
}

// optionLines lists flags indented as age does (pflag already indents two).
func optionLines(fs *pflag.FlagSet) string {
	return indentBy("  ", fs.FlagUsagesWrapped(0))
}

func indentLines(s string) string { return indentBy("    ", s) }

func indentBy(p, s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = p + l
		}
	}
	return strings.Join(lines, "\n")
}
