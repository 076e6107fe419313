package cli

import (
	"os"
	"strings"
	"testing"
)

// TestEveryCommandHasHelpScript: testdata/script/cli_help.txt asks for the help
// of every command in the table, so a new command cannot come without its help
// being run through the binary.
func TestEveryCommandHasHelpScript(t *testing.T) {
	data, err := os.ReadFile("../../testdata/script/cli_help.txt")
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
