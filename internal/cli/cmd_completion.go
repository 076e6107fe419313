package cli

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

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
		validArgs: func(*app) []string {
			return slices.Sorted(func(yield func(string) bool) {
				for sh := range completionScripts {
					if !yield(sh) {
						return
					}
				}
			})
		},
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			return (*app).cmdCompletion
		},
	}
}

// The scripts ask the binary (completeCommand) what to offer, so that they
// never go stale: only the protocol below lives in them.
var (
	//go:embed completion/tokenkeeper.bash
	bashCompletion string
	//go:embed completion/tokenkeeper.zsh
	zshCompletion string
	//go:embed completion/tokenkeeper.fish
	fishCompletion string

	completionScripts = map[string]*string{"bash": &bashCompletion, "zsh": &zshCompletion, "fish": &fishCompletion}
)

func (a *app) cmdCompletion(args []string) int {
	if len(args) == 0 {
		return a.usageError("completion: which shell?", "tokenkeeper completion bash, zsh or fish")
	}
	script, ok := completionScripts[args[0]]
	if !ok {
		return a.usageError(fmt.Sprintf("completion: unknown shell %q", args[0]), "tokenkeeper completion bash, zsh or fish")
	}
	fmt.Fprint(a.stdout, *script)
	return exitOK
}

// The completion protocol: the scripts run `tokenkeeper __complete WORDS…
// CURRENT` (the words typed after tokenkeeper, the last one being completed)
// and get one candidate a line, "VALUE" or "VALUE\tDESCRIPTION", then a line
// ":N" whose bits say what the shell should do with no candidate.
const (
	completeCommand = "__complete"
	compFiles       = 0  // the shell's own completion (file names)
	compNoFiles     = 4  // nothing but the candidates
	compDirs        = 16 // directories only
)

// complete is the hidden __complete command: it finds the command in the
// words typed so far as main does, then offers what may come next: a flag's
// value, a flag, a command or the command's argument.
func (a *app) complete(table []*command, args []string) int {
	if len(args) == 0 {
		args = []string{""}
	}
	words, cur := args[:len(args)-1], args[len(args)-1]
	fs := newFlagSet()
	a.g.register(fs)
	c, rest, _ := findCommand(table, words, fs)
	addCommandFlags(c, fs)
	_ = fs.Parse(rest) // for --config-dir and the like, and the arguments given
	afterDash := slices.Contains(words, "--")

	var cands []string
	directive := compNoFiles
	offer := func(value, description string) {
		if strings.HasPrefix(value, cur) {
			if description != "" {
				value += "\t" + strings.ReplaceAll(description, "\n", " ")
			}
			cands = append(cands, value)
		}
	}
	prev := ""
	if len(words) > 0 {
		prev = words[len(words)-1]
	}
	switch f, prefix := valueFlag(fs, prev, cur); {
	case f != nil && !afterDash:
		var values []string
		values, directive = a.flagValues(f)
		for _, v := range values {
			offer(prefix+v, "")
		}
	case strings.HasPrefix(cur, "-") && !afterDash:
		fs.SortFlags = true
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			_, usage := pflag.UnquoteUsage(f)
			offer("--"+f.Name, usage)
			if f.Shorthand != "" && !strings.HasPrefix(cur, "--") {
				offer("-"+f.Shorthand, usage)
			}
		})
	case afterDash:
		directive = compFiles
	case c.name == "":
		for _, sub := range table {
			offer(sub.name, sub.summary)
		}
	case c.validArgs != nil && len(fs.Args()) == 0:
		for _, v := range c.validArgs(a) {
			value, description, _ := strings.Cut(v, "\t")
			offer(value, description)
		}
	case c.maxArgs != 0:
		directive = compFiles
	}
	for _, v := range cands {
		fmt.Fprintln(a.stdout, v)
	}
	fmt.Fprintf(a.stdout, ":%d\n", directive)
	return exitOK
}

// completeAnnotation marks, on a flag, what its value completes to: a list of
// the values, or one of completeDirs and completeProfiles. A flag without it
// completes to file names.
const completeAnnotation = "tokenkeeper_complete"

var (
	completeDirs     = []string{"<directory>"}
	completeProfiles = []string{"<profile>"}
)

// valueFlag is the flag whose value is being typed: the one in the previous
// word (--profile, -o, -vo), or the one cur starts with (--profile=…, whose
// "--profile=" is then the prefix of each value).
func valueFlag(fs *pflag.FlagSet, prev, cur string) (f *pflag.Flag, prefix string) {
	if name, _, ok := strings.Cut(strings.TrimPrefix(cur, "--"), "="); ok && strings.HasPrefix(cur, "--") {
		if f := fs.Lookup(name); takesValue(f) {
			return f, "--" + name + "="
		}
		return nil, ""
	}
	return valueNext(prev, func(long, short string) *pflag.Flag { return lookupFlag(fs, long, short) }), ""
}

// flagValues lists the values flag f may take, and what the shell does
// beyond them.
func (a *app) flagValues(f *pflag.Flag) ([]string, int) {
	switch kind := f.Annotations[completeAnnotation]; {
	case slices.Equal(kind, completeDirs):
		return nil, compDirs
	case slices.Equal(kind, completeProfiles):
		return a.profileNames(), compNoFiles
	case kind != nil:
		return kind, compNoFiles
	}
	return nil, compFiles
}

// profileNames lists the profiles under the config and state roots (those
// the flags and TOKENKEEPER_* variables choose), and the store's that it
// lists within storeGlance; none under --dir. The local ones are offered
// whatever the store does: completion runs while a person waits.
func (a *app) profileNames() []string {
	if a.g.applyEnv(a.getenv) != nil || a.g.dir != "" {
		return nil
	}
	p, err := storage.Resolve(storage.Options{ConfigDir: a.g.configDir, StateDir: a.g.stateDir}, nil)
	if err != nil {
		return nil
	}
	names, err := localProfiles(filepath.Dir(p.ConfigDir), filepath.Dir(p.StateDir))
	if err != nil {
		return nil
	}
	if all, err := a.storeProfiles(names, storeGlance); err == nil {
		return all
	}
	return names
}
