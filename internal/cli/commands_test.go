package cli

import (
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestEveryCommandHasHelpScript: internal/cli/testdata/script/cli_help.txt asks for the help
// of every command in the table, so a new command cannot come without its help
// being run through the binary.
func TestEveryCommandHasHelpScript(t *testing.T) {
	data, err := os.ReadFile("testdata/script/cli_help.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commandTable() {
		if !strings.Contains(string(data), "exits 0 tokenkeeper help "+c.name+"\n") {
			t.Errorf("cli_help.txt does not run tokenkeeper help %s", c.name)
		}
	}
}

// TestCommandRows: every row has what help, the man page and completion show.
func TestCommandRows(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commandTable() {
		if c.name == "" || c.summary == "" || c.long == "" || c.example == "" || c.flags == nil {
			t.Errorf("command %q: want a name, a summary, a long help, an example and flags", c.name)
		}
		if seen[c.name] {
			t.Errorf("command %q is in the table twice", c.name)
		}
		seen[c.name] = true
	}
}

// FuzzCommandLine: no command line (argv is outside input, and so are the
// words a shell hands to __complete) makes finding the command, parsing its
// flags, writing its help or completing a word panic; what parses names a
// command of the table or the root.
func FuzzCommandLine(f *testing.F) {
	for _, s := range []string{
		"token", "--profile\x00rt\x00stauts", "refresh\x00--forse", "-vo\x00json\x00token",
		"exec\x00--\x00sh\x00-c\x00x", "--profile=a", "-", "--", "token\x00-o\x00", "help\x00tokne",
		"--dir\x00", "-h", "--config-dir\x00\x00token", "-\x00-\x00--=", "--log-format=\x00status",
	} {
		f.Add(s)
	}
	table := commandTable()
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\x00")
		fs := globalFlags()
		c, rest, unknown := findCommand(table, args, fs)
		if c == nil || (c.name != "" && lookupCommand(table, c.name) != c) {
			t.Fatalf("%q: found %v", args, c)
		}
		if unknown != "" && c.name != "" {
			t.Fatalf("%q: unknown %q with command %q", args, unknown, c.name)
		}
		addCommandFlags(c, fs)
		_ = fs.Parse(rest)
		_ = suggestFlag(fs, "unknown flag: --"+line)
		_ = suggestions(table, line)
		if helpText(table, c) == "" {
			t.Fatal("no help")
		}
		var out strings.Builder
		a := &app{stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }}
		if code := a.complete(table, args); code != exitOK || !strings.Contains(out.String(), ":") {
			t.Fatalf("__complete %q: exit %d, %q", args, code, out.String())
		}
	})
}

// TestCompleteValueInCluster: a flag's value given in the same word as the
// flag (-oo: -o with the value "o") leaves the next word to the command, as
// main reads it; completion once looked only at the word's last letter and
// offered -o's formats for the next word.
func TestCompleteValueInCluster(t *testing.T) {
	table := commandTable()
	for _, tc := range []struct {
		args []string
		want bool // the formats are offered
	}{
		{[]string{"token", "-o", ""}, true},
		{[]string{"token", "-vo", ""}, true},
		{[]string{"token", "-oo", ""}, false},
		{[]string{"token", "-ojson", ""}, false},
		{[]string{"token", "--output=o", ""}, false},
	} {
		var out strings.Builder
		a := &app{stdout: &out, stderr: io.Discard, getenv: func(string) string { return "" }}
		if code := a.complete(table, tc.args); code != exitOK {
			t.Fatalf("__complete %q: exit %d", tc.args, code)
		}
		if got := strings.Contains(out.String(), "exec-credential\n"); got != tc.want {
			t.Errorf("__complete %q offers the formats: %v, want %v\n%s", tc.args, got, tc.want, out.String())
		}
	}
}

// TestHelpCitesNoDocument: the help of every command, run through the binary,
// cites no document a user of the binary does not have (the project's
// specification, its docs/ or README): it says the thing itself. RFCs are
// public and may be cited.
func TestHelpCitesNoDocument(t *testing.T) {
	t.Parallel()
	bin := tokenkeeperBinary(t)
	pages := [][]string{{"help"}}
	for _, c := range commandTable() {
		pages = append(pages, []string{"help", c.name})
	}
	cites := regexp.MustCompile(`SPEC|README|docs/|\.md\b`)
	for _, args := range pages {
		cmd := exec.Command(bin, args...)
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("tokenkeeper %s: %v\n%s", strings.Join(args, " "), err, out)
			continue
		}
		for _, line := range strings.Split(string(out), "\n") {
			if cites.MatchString(line) {
				t.Errorf("tokenkeeper %s cites a document the user does not have: %q", strings.Join(args, " "), line)
			}
		}
	}
}
