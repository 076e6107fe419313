package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

func completionCommand() *command {
	return &command{
		name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script",
		long: `Print a completion script for bash, zsh or fish. It completes commands, flags
and profile names (the sub-directories of the config and state roots).`,
		example: `source <(tokenkeeper completion bash)                        # bash, this shell
tokenkeeper completion bash > /etc/bash_completion.d/tokenkeeper
tokenkeeper completion zsh > "${fpath[1]}/_tokenkeeper"
tokenkeeper completion fish > ~/.config/fish/completions/tokenkeeper.fish`,
		maxArgs: 1, noPaths: true,
		validArgs: func(*app) []string { return []string{"bash", "zsh", "fish"} },
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			return (*app).cmdCompletion
		},
	}
}

func (a *app) cmdCompletion(args []string) int {
	if len(args) == 0 {
		return a.usageError("completion: which shell?", "tokenkeeper completion bash, zsh or fish")
	}
	var err error
	switch args[0] {
	case "bash":
		err = a.root.GenBashCompletionV2(a.stdout, true)
	case "zsh":
		err = a.root.GenZshCompletion(a.stdout)
	case "fish":
		err = a.root.GenFishCompletion(a.stdout, true)
	default:
		return a.usageError(fmt.Sprintf("completion: unknown shell %q", args[0]), "tokenkeeper completion bash, zsh or fish")
	}
	if err != nil {
		return a.fail(err)
	}
	return exitOK
}

// completeProfiles completes --profile with the profiles under the config
// and state roots (those the flags and TOKENKEEPER_* variables choose).
func (a *app) completeProfiles(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	if a.g.applyEnv(a.g.flags, a.getenv) != nil || a.g.dir != "" {
		return nil, none
	}
	p, err := storage.Resolve(storage.Options{ConfigDir: a.g.configDir, StateDir: a.g.stateDir}, nil)
	if err != nil {
		return nil, none
	}
	names, err := a.fleetNames(filepath.Dir(p.ConfigDir), filepath.Dir(p.StateDir))
	if err != nil {
		return nil, none
	}
	return names, none
}
