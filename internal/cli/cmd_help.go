package cli

import (
	"fmt"

	"github.com/spf13/cobra"
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
	if len(args) == 0 {
		return a.printHelp(a.root)
	}
	cmd, rest, err := a.root.Find(args)
	if err != nil || cmd == a.root || len(rest) > 0 {
		hint := "run tokenkeeper help for the list of commands"
		if s := a.root.SuggestionsFor(args[0]); len(s) > 0 {
			hint = fmt.Sprintf("did you mean tokenkeeper help %s?", s[0])
		}
		return a.usageError(fmt.Sprintf("help: unknown command %q", args[0]), hint)
	}
	return a.printHelp(cmd)
}

func (a *app) printHelp(cmd *cobra.Command) int {
	if err := cmd.Help(); err != nil {
		return a.fail(err)
	}
	return exitOK
}

// commandNames completes help's argument.
func commandNames(a *app) []string {
	var names []string
	for _, c := range a.root.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name()+"\t"+c.Short)
		}
	}
	return names
}
