package cli

import (
	"fmt"

	"github.com/spf13/pflag"
)

func helpCommand() *command {
	return &command{
		name: "help", args: "[command]", summary: "show the help of tokenkeeper or of a command",
		long:    "Show what a command does, its options and an example.",
		example: "tokenkeeper help token\ntokenkeeper token --help",
		maxArgs: 1, noPaths: true, validArgs: commandNames,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			return (*app).cmdHelp
		},
	}
}

func (a *app) cmdHelp(args []string) int {
	table := commandTable()
	c := rootCommand()
	if len(args) > 0 {
		if c = lookupCommand(table, args[0]); c == nil {
			hint := commandsHint
			if s := suggestions(table, args[0]); len(s) > 0 {
				hint = fmt.Sprintf("did you mean tokenkeeper help %s?", s[0])
			}
			return a.usageError(fmt.Sprintf("help: unknown command %q", args[0]), hint)
		}
	}
	fmt.Fprint(a.stdout, helpText(table, c))
	return exitOK
}

// commandNames completes help's argument: each command and its summary.
func commandNames(*app) []string {
	var names []string
	for _, c := range commandTable() {
		if c.name != "help" {
			names = append(names, c.name+"\t"+c.summary)
		}
	}
	return names
}
