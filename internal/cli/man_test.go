package cli

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

//go:generate go test -run TestManPages -update-man .

var updateMan = flag.Bool("update-man", false, "rewrite docs/man from the command table")

const manDir = "../../docs/man"

// TestManPages checks that the man pages in docs/man are those the command
// table makes (manPage below, which stays out of the binary): a command, a
// flag or a help text changed without go generate fails here.
func TestManPages(t *testing.T) {
	global := globalFlags()
	table := commandTable()
	date := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // fixed: the pages must not change by the day
	made := map[string]string{"tokenkeeper.1": manPage(table, rootCommand(), global, date)}
	for _, c := range table {
		made["tokenkeeper-"+c.name+".1"] = manPage(table, c, global, date)
	}
	if *updateMan {
		if err := os.RemoveAll(manDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(manDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range made {
		committed := filepath.Join(manDir, name)
		if *updateMan {
			if err := os.WriteFile(committed, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(committed)
		if err != nil || string(got) != want {
			t.Errorf("%s is not what the command table makes (err %v); run go generate ./internal/cli", committed, err)
		}
	}
	if committed, _ := filepath.Glob(filepath.Join(manDir, "*.1")); len(committed) != len(made) {
		t.Errorf("docs/man holds %d pages, the command table makes %d; run go generate ./internal/cli", len(committed), len(made))
	}
	// Where man(1) is installed, each page must render without a warning.
	if _, err := exec.LookPath("groff"); err != nil {
		t.Log("groff not found: the pages' rendering is not checked (Debian: apt-get install groff-base)")
		return
	}
	for name, page := range made {
		cmd := exec.Command("groff", "-man", "-Tutf8", "-ww", "-z")
		cmd.Stdin = strings.NewReader(page)
		if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("%s: groff: %v\n%s", name, err, out)
		}
	}
}

// manPage writes c's page in man(7): the same rows as its help.
func manPage(table []*command, c *command, global *pflag.FlagSet, date time.Time) string {
	var b strings.Builder
	name := strings.TrimSuffix("tokenkeeper-"+c.name, "-")
	fmt.Fprintf(&b, ".TH %s 1 %q \"tokenkeeper\" \"tokenkeeper manual\"\n", strings.ToUpper(name), date.Format("January 2006"))
	summary := c.summary
	if c.name == "" {
		summary = "keep an OAuth 2.0 access token and its refresh token alive"
	}
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", name, roff(summary))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n", roff(usageLine(c)))
	fmt.Fprintf(&b, ".SH DESCRIPTION\n%s\n", roffText(c.long))
	local := localFlags(c)
	if c.name == "" {
		b.WriteString(".SH COMMANDS\n")
		for _, sub := range table {
			fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", sub.name, roff(sub.summary))
		}
		local.AddFlagSet(global)
		b.WriteString(".SH OPTIONS\nGlobal options go before or after the command; each is also read from TOKENKEEPER_<NAME>.\n")
		b.WriteString(manOptions(local))
	} else {
		b.WriteString(".SH OPTIONS\n" + manOptions(local))
		b.WriteString(".SH GLOBAL OPTIONS\nEach is also read from TOKENKEEPER_<NAME>.\n" + manOptions(global))
	}
	fmt.Fprintf(&b, ".SH EXAMPLE\n.nf\n.RS\n%s\n.RE\n.fi\n", roffText(c.example))
	b.WriteString(".SH SEE ALSO\n")
	if c.name == "" {
		var refs []string
		for _, sub := range table {
			refs = append(refs, fmt.Sprintf(".BR tokenkeeper-%s (1)", sub.name))
		}
		b.WriteString(strings.Join(refs, " ,\n") + "\n")
	} else {
		b.WriteString(".BR tokenkeeper (1)\n")
	}
	return b.String()
}

func manOptions(fs *pflag.FlagSet) string {
	fs.SortFlags = true
	var b strings.Builder
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		varname, usage := pflag.UnquoteUsage(f)
		b.WriteString(".TP\n")
		if f.Shorthand != "" {
			fmt.Fprintf(&b, "\\fB\\-%s\\fR, ", f.Shorthand)
		}
		fmt.Fprintf(&b, "\\fB\\-\\-%s\\fR", roff(f.Name))
		if varname != "" && f.NoOptDefVal == "" {
			fmt.Fprintf(&b, " \\fI%s\\fR", roff(varname))
		}
		b.WriteString("\n" + roff(usage))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
			fmt.Fprintf(&b, " (default %s)", roff(f.DefValue))
		}
		b.WriteString("\n")
	})
	return b.String()
}

// roff escapes text for one line of man(7): backslashes, hyphens, and
// anything beyond ASCII as \[uXXXX], which every troff reads.
func roff(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString("\\e")
		case r == '-':
			b.WriteString("\\-")
		case r > 0x7e:
			fmt.Fprintf(&b, "\\[u%04X]", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// roffText escapes a paragraph: each line as roff does, and a line that
// starts with a dot or a quote kept from being read as a request.
func roffText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = roff(l)
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = "\\&" + l
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}
