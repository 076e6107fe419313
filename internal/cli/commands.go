package cli

import (
	"fmt"
	"io"
	"strings"

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

// main finds the command in args, parses its flags and the global ones
// (before or after the command's name, as pflag allows), and runs it. Help,
// suggestions, completion and the man pages are ours, from the command table,
// rather than a command library's: a package-level regexp in one makes every
// process initialise the unicode tables, 0.04× of `tokenkeeper token`'s 1.5×
// start-up budget (docs/performance.md, "What start-up leaves out").
func (a *app) main(args []string) int {
	table := commandTable()
	if len(args) > 0 && args[0] == completeCommand {
		return a.complete(table, args[1:])
	}
	fs := newFlagSet()
	a.g.register(fs) // first: findCommand knows the global flags
	c, rest, unknown := findCommand(table, args, fs)
	run, help := addCommandFlags(c, fs)
	err := fs.Parse(rest)
	// A word that is no command is said before a flag error, unless the flag
	// is a typo of one: the word is then most likely its value (--profle x).
	if unknown != "" && (err == nil || suggestFlag(fs, err.Error()) == "") {
		return a.unknownCommand(table, unknown)
	}
	if err != nil {
		return a.flagError(c, fs, err)
	}
	if *help {
		fmt.Fprint(a.stdout, helpText(table, c))
		return exitOK
	}
	pos := fs.Args()
	if c.maxArgs >= 0 && len(pos) > c.maxArgs {
		if c.name == "" {
			return a.unknownCommand(table, pos[c.maxArgs])
		}
		return a.usageError(fmt.Sprintf("%s: unexpected argument %q", c.name, pos[c.maxArgs]),
			"run "+helpLine(c)+" for its usage")
	}
	return a.start(c, run, pos)
}

// findCommand finds the command named in args and returns it with args
// without its name: what its flags parse (exec stops at CMD, so its name must
// not come first). With no name in args, the command is the root (the
// tutorial's program); with a name that is no command's, unknown is set.
func findCommand(table []*command, args []string, global *pflag.FlagSet) (c *command, rest []string, unknown string) {
	i := commandWord(args, global, table)
	if i < 0 {
		return rootCommand(), args, ""
	}
	if c = lookupCommand(table, args[i]); c == nil {
		return rootCommand(), args, args[i]
	}
	return c, append(args[:i:i], args[i+1:]...), ""
}

// globalFlags is a set of the global flags alone, with their defaults, for
// help, the man pages and tests: what "Global options" lists.
func globalFlags() *pflag.FlagSet {
	var g globals
	fs := newFlagSet()
	g.register(fs)
	return fs
}

// newFlagSet makes a flag set that reports errors to main and visits its
// flags in the order they were defined: sorting them costs every run of
// `tokenkeeper token`, and only help and completion need the names in order
// (optionLines, complete).
func newFlagSet() *pflag.FlagSet {
	fs := pflag.NewFlagSet("tokenkeeper", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.SortFlags = false
	return fs
}

// addCommandFlags registers c's own flags and -h/--help in fs, after the
// global ones, and returns c's run function and the help flag.
func addCommandFlags(c *command, fs *pflag.FlagSet) (run func(*app, []string) int, help *bool) {
	run = c.flags(fs)
	return run, fs.BoolP("help", "h", false, "show this help")
}

// localFlags is c's own flags and -h/--help alone, as help lists them under
// "Options".
func localFlags(c *command) *pflag.FlagSet {
	fs := newFlagSet()
	addCommandFlags(c, fs)
	return fs
}

func lookupCommand(table []*command, name string) *command {
	for _, c := range table {
		if c.name == name {
			return c
		}
	}
	return nil
}

// commandWord returns the index in args of the command's name: the first
// argument that is neither a flag nor a flag's value, before any "--"; -1
// when there is none. Whether a flag takes a value is looked up in the global
// flags, and for a flag that is none of them (a command's own, given before
// the command's name) in every command's.
func commandWord(args []string, global *pflag.FlagSet, table []*command) int {
	var every *pflag.FlagSet // every command's flags, made when first needed
	look := func(long, short string) *pflag.Flag {
		if f := lookupFlag(global, long, short); f != nil {
			return f
		}
		if every == nil {
			every = newFlagSet()
			for _, c := range table {
				every.AddFlagSet(localFlags(c))
			}
		}
		return lookupFlag(every, long, short)
	}
	for i := 0; i < len(args); i++ {
		s := args[i]
		switch {
		case s == "--":
			return -1
		case len(s) > 1 && s[0] == '-':
			if valueNext(s, look) != nil {
				i++
			}
		default:
			return i
		}
	}
	return -1
}

// valueNext is the flag in word (--name, or -abc, a cluster of shorthands)
// whose value is the next argument, or nil: no flag of word takes a value, its
// value is in word (--name=VALUE, -oVALUE, -voVALUE), or word is no flag. It
// is the one rule, for main (commandWord) and completion (valueFlag), of
// whether a flag's value follows; look finds a flag by its long name, or, when
// that is "", by its one-byte shorthand.
func valueNext(word string, look func(long, short string) *pflag.Flag) *pflag.Flag {
	switch {
	case word == "--" || len(word) < 2 || word[0] != '-':
		return nil
	case word[1] == '-':
		name, _, hasValue := strings.Cut(word[2:], "=")
		if f := look(name, ""); !hasValue && takesValue(f) {
			return f
		}
		return nil
	}
	for j := 1; j < len(word); j++ { // -v, -o json, -ojson, -vo json
		f := look("", word[j:j+1])
		if f == nil || takesValue(f) {
			if j == len(word)-1 && takesValue(f) {
				return f
			}
			return nil
		}
	}
	return nil
}

// takesValue reports whether f is a flag that wants a value (not a bool).
func takesValue(f *pflag.Flag) bool { return f != nil && f.NoOptDefVal == "" }

// lookupFlag finds a flag of fs by its long name, or, when that is "", by its
// one-byte shorthand.
func lookupFlag(fs *pflag.FlagSet, long, short string) *pflag.Flag {
	if long != "" {
		return fs.Lookup(long)
	}
	return fs.ShorthandLookup(short) // one byte: pflag panics on more
}

// suggestions lists the commands close to a misspelt name: within two
// edits, or starting with what was typed.
func suggestions(table []*command, typed string) []string {
	var out []string
	typed = strings.ToLower(typed)
	for _, c := range table {
		if editdist.Distance(typed, c.name) <= 2 || (typed != "" && strings.HasPrefix(c.name, typed)) {
			out = append(out, c.name)
		}
	}
	return out
}

func (a *app) unknownCommand(table []*command, word string) int {
	hint := commandsHint
	if s := suggestions(table, word); len(s) > 0 {
		hint = fmt.Sprintf("did you mean %s? (tokenkeeper help lists the commands)", a.cmdLine(s[0]))
	}
	return a.usageError(fmt.Sprintf("unknown command %q", word), hint)
}

// flagError reports what pflag refused (an unknown flag, a missing or bad
// value) as a usage error, with a suggestion when a flag is close.
func (a *app) flagError(c *command, fs *pflag.FlagSet, err error) int {
	msg := err.Error()
	if c.name != "" {
		msg = c.name + ": " + msg
	}
	hint := optionsHint(c)
	if s := suggestFlag(fs, err.Error()); s != "" {
		hint = fmt.Sprintf("did you mean %s? (%s lists the options)", s, helpLine(c))
	}
	return a.usageError(msg, hint)
}

// helpLine is the command that shows c's help: tokenkeeper help NAME. It
// carries no flags (cmdLine's): help does not depend on the profile.
func helpLine(c *command) string { return strings.TrimSpace("tokenkeeper help " + c.name) }

// commandsHint is the hint after a word that names no command.
const commandsHint = "run tokenkeeper help for the list of commands"

// optionsHint is the hint after a flag the command refused.
func optionsHint(c *command) string { return "run " + helpLine(c) + " for the options" }

// suggestFlag finds the flag closest to the unknown one pflag named in msg
// ("unknown flag: --forse", "unknown shorthand flag: 'q' in -quiet").
func suggestFlag(fs *pflag.FlagSet, msg string) string {
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
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		if d := editdist.Distance(typed, f.Name); d < bestD {
			best, bestD = f.Name, d
		}
	})
	if best == "" {
		return ""
	}
	return "--" + best
}

// helpText gives every help page age's shape: Usage, what the command does,
// Options, Example. The root's page lists the commands too.
func helpText(table []*command, c *command) string {
	global := globalFlags()
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n    %s\n", usageLine(c))
	if c.long != "" {
		fmt.Fprintf(&b, "\n%s\n", c.long)
	}
	if c.name == "" {
		fmt.Fprintf(&b, "\n%s\n", exitCodesText())
	}
	local := localFlags(c)
	if c.name == "" {
		b.WriteString("\nCommands:\n")
		width := 0
		for _, sub := range table {
			width = max(width, len(sub.name))
		}
		for _, sub := range table {
			fmt.Fprintf(&b, "    %-*s  %s\n", width, sub.name, sub.summary)
		}
		local.AddFlagSet(global)
		fmt.Fprintf(&b, "\nGlobal options (before or after the command; each also read from TOKENKEEPER_<NAME>):\n%s\n", optionLines(local))
	} else {
		fmt.Fprintf(&b, "\nOptions:\n%s\n", optionLines(local))
		fmt.Fprintf(&b, "\nGlobal options (also read from TOKENKEEPER_<NAME>):\n%s\n", optionLines(global))
	}
	if c.example != "" {
		fmt.Fprintf(&b, "\nExample:\n%s\n", indentLines(c.example))
	}
	if c.name == "" {
		b.WriteString("\nRun tokenkeeper help COMMAND (or tokenkeeper COMMAND --help) for a command's options.\n")
	}
	return b.String()
}

// usageLine is the line under "Usage:": tokenkeeper, the name, its arguments.
func usageLine(c *command) string {
	return strings.Join(strings.Fields("tokenkeeper "+c.name+" "+c.args), " ")
}

// optionLines lists flags indented as age does (pflag already indents two).
func optionLines(fs *pflag.FlagSet) string {
	fs.SortFlags = true
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
