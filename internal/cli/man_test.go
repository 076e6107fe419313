package cli

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

//go:generate go test -run TestManPages -update-man .

var updateMan = flag.Bool("update-man", false, "rewrite docs/man from the command table")

const manDir = "../../docs/man"

// TestManPages checks that the man pages in docs/man are those the command
// table makes (manPage below, which stays out of the binary): a command, a
// flag or a help text changed without go generate fails here.
func TestManPages(t *testing.T) {
	t.Parallel()
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

// TestManPagesSections: every committed page has EXIT STATUS, ENVIRONMENT and
// FILES, made from their owners: each code of the exit table, each variable of
// the field table and of the global flags, each of storage's files.
func TestManPagesSections(t *testing.T) {
	pages, _ := filepath.Glob(filepath.Join(manDir, "*.1"))
	if len(pages) == 0 {
		t.Fatal("no man pages in docs/man")
	}
	var want []string
	for _, r := range exitTable {
		want = append(want, fmt.Sprintf(`.SH EXIT STATUS\n(?s:.*)\.B %d\n%s\n(?s:.*)\.SH ENVIRONMENT\n`, r.code, regexp.QuoteMeta(roff(r.meaning))))
	}
	for _, f := range credentials.Fields {
		if f.Env != "" {
			want = append(want, `.SH ENVIRONMENT\n(?s:.*)\.B `+regexp.QuoteMeta(roff(f.Env))+`\n(?s:.*)\.SH FILES\n`)
		}
	}
	for _, name := range []string{"profile", "store", "timeout"} {
		want = append(want, `.SH ENVIRONMENT\n(?s:.*)\.B `+regexp.QuoteMeta(roff(envName(name)))+`\n`)
	}
	for _, f := range storage.Files() {
		want = append(want, `.SH FILES\n(?s:.*)\.I `+regexp.QuoteMeta(roff(f.Path))+`\n(?s:.*)\.SH EXAMPLE\n`)
	}
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !regexp.MustCompile(w).Match(data) {
				t.Errorf("%s: no %q", page, w)
			}
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
	b.WriteString(manExitStatus() + manEnvironment(global) + manFiles())
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
	fmt.Fprintf(&b, ".PP\n.nf\nThe guide: docs/%s in the source tree,\n%s\n.fi\n", manGuides[c.name], sourceHome)
	return b.String()
}

// sourceHome is where the source tree, and its guides in docs/, are read.
const sourceHome = "https://github.com/tokenkeeper/tokenkeeper"

// manGuides is the guide in docs/ that explains each command at length: a
// man page's SEE ALSO names it (the help on the terminal cites no document).
// TestManGuides fails on a command without one, or a guide that is not there.
var manGuides = map[string]string{
	"":               "getting-started.md",
	"init":           "getting-started.md",
	"setup":          "getting-started.md",
	"login":          "providers.md",
	"logout":         "providers.md",
	"refresh":        "scheduling.md",
	"token":          "integrations.md",
	"git-credential": "integrations.md",
	"serve":          "integrations.md",
	"status":         "troubleshooting.md",
	"exec":           "integrations.md",
	"watch":          "scheduling.md",
	"profiles":       "many-profiles.md",
	"store":          "many-profiles.md",
	"demo":           "getting-started.md",
	"version":        "commands.md",
	"completion":     "commands.md",
	"help":           "commands.md",
}

// TestManGuides: every command's man page names a guide that exists.
func TestManGuides(t *testing.T) {
	for _, c := range append(commandTable(), rootCommand()) {
		g, ok := manGuides[c.name]
		if !ok {
			t.Errorf("command %q has no guide in manGuides", c.name)
			continue
		}
		if _, err := os.Stat(filepath.Join("..", "..", "docs", g)); err != nil {
			t.Errorf("command %q: guide %s: %v", c.name, g, err)
		}
	}
}

// manExitStatus is the exit table, by code.
func manExitStatus() string {
	rows := slices.Clone(exitTable)
	slices.SortFunc(rows, func(x, y exitRow) int { return x.code - y.code })
	var b strings.Builder
	b.WriteString(".SH EXIT STATUS\n")
	for _, r := range rows {
		fmt.Fprintf(&b, ".TP\n.B %d\n%s\n", r.code, roff(r.meaning))
	}
	return b.String()
}

// manEnvironment lists the variables tokenkeeper reads or sets, from their
// owners: the global flags (TOKENKEEPER_<NAME>), the field table's secrets,
// the store's password, the variables exec sets, storage's roots.
func manEnvironment(global *pflag.FlagSet) string {
	var b strings.Builder
	item := func(name, text string) { fmt.Fprintf(&b, ".TP\n.B %s\n%s\n", roff(name), roff(text)) }
	b.WriteString(".SH ENVIRONMENT\n")
	global.SortFlags = true
	global.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Name != "help" && f.Name != "version" {
			item(envName(f.Name), "as --"+f.Name+", when the flag is not given")
		}
	})
	for _, f := range credentials.Fields {
		if f.Env != "" {
			item(f.Env, fmt.Sprintf("credentials.json's %s for setup, so that the secret stays out of argv; a command run by exec does not inherit it", f.Name))
		}
	}
	item(storePasswordEnv, "the password of the user the --store URL names (?user=NAME); never in the URL; a command run by exec does not inherit it")
	for _, v := range [][2]string{
		{envAccessToken, "set by exec for its command: the access token"},
		{envTokenType, "set by exec for its command: the token type (Bearer)"},
		{envExpiresAt, "set by exec for its command: the access token's expiry (RFC 3339, UTC)"},
		{envAPIBase, "set by exec for its command where the token names one: the API base URL (Concur's geolocation)"},
	} {
		item(v[0], v[1])
	}
	for _, r := range storage.Roots() {
		item(r.Env, fmt.Sprintf("the root that %s when neither --dir nor its own flag is given (default %s)", r.What, r.Default))
	}
	return b.String()
}

// manFiles is storage's layout of a profile's files, and the store's files
// beside the token file.
func manFiles() string {
	var b strings.Builder
	item := func(path, text string) { fmt.Fprintf(&b, ".TP\n.I %s\n%s\n", roff(path), roff(text)) }
	b.WriteString(".SH FILES\n")
	files := storage.Files()
	for _, f := range files {
		item(f.Path, f.What)
	}
	dir := filepath.Dir(files[1].Path) + "/"
	item(dir+"store-copy.etcd.ID.json", "with --store etcd://…: this host's read copy of the shared record, one per cluster and prefix")
	item(dir+storePendingName, "with --store: an answer the store could not take, pushed first by the next run")
	item(dir+"store-copy.k8s.NS.PREFIX.json", "with --store k8s://NS/PREFIX: the read copy, one per namespace and prefix")
	item(dir+"store-pending.k8s.NS.PREFIX.json", "with --store k8s://NS/PREFIX: the pending answer, likewise")
	b.WriteString(".PP\n" + roff("--config-dir DIR and --state-dir DIR replace the roots (DIR/PROFILE/…); --dir DIR puts both files of the profile, and the lock, directly in DIR.") + "\n")
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
