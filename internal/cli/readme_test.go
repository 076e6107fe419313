package cli

import (
	"cmp"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const readmePath = "../../README.md"

// docFiles are the documents a user reads: README.md and the guides in docs/.
// Every check of the README's commands, programs and links covers them all.
func docFiles(t *testing.T) []string {
	t.Helper()
	guides, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(guides) < 5 {
		t.Fatalf("found %d guides in docs/, want the guides the README links to", len(guides))
	}
	return append([]string{readmePath}, guides...)
}

// docName is how a message names a document: README.md, docs/cron.md.
func docName(path string) string {
	return strings.TrimPrefix(filepath.ToSlash(path), "../../")
}

// readmeBlocks returns a document's fenced code blocks with their info string
// ("go", "console", "" …).
func readmeBlocks(t *testing.T, path string) (infos, bodies []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		info, ok := strings.CutPrefix(lines[i], "```")
		if !ok {
			continue
		}
		var b strings.Builder
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			b.WriteString(lines[i] + "\n")
		}
		infos, bodies = append(infos, strings.TrimSpace(info)), append(bodies, b.String())
	}
	return infos, bodies
}

// TestReadmeGoExample builds every Go program in the README and the guides (a
// block that starts with "package main") against this module, through an
// overlay: no file is written into the repository.
func TestReadmeGoExample(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a program")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, doc := range docFiles(t) {
		if docName(doc) == "docs/DESIGN.md" {
			continue // signatures that say how the code is cut, not programs
		}
		infos, bodies := readmeBlocks(t, doc)
		for i, body := range bodies {
			if infos[i] != "go" {
				continue
			}
			if !strings.HasPrefix(body, "package main") {
				t.Errorf("%s: a Go block that is not a whole program (package main); it cannot be checked:\n%s", docName(doc), body)
				continue
			}
			n++
			buildGoExample(t, root, docName(doc), n, body)
		}
	}
	if n == 0 {
		t.Error("neither the README nor a guide has a Go program to check")
	}
}

// buildGoExample builds one program of a document against this module.
func buildGoExample(t *testing.T, root, doc string, n int, body string) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	virtual := filepath.Join(root, "internal", "readmeexample", "main.go")
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{virtual: src}})
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool(t), "build", "-overlay", ov, "-o", os.DevNull, "./internal/readmeexample")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: Go example %d does not build: %v\n%s", doc, n, err, out)
	}
}

// tokenkeeperCall finds the arguments of a tokenkeeper command on a shell
// line: after "tokenkeeper " (or ".../tokenkeeper "), up to what ends a
// command in a shell.
var tokenkeeperCall = regexp.MustCompile("(?:^|[\\s/(])tokenkeeper((?: [^|;&<>)#\"'`\\s]+)*)")

// TestReadmeCommands parses every tokenkeeper command the README and the
// guides show (shell lines after "$ ", crontab lines, systemd's ExecStart=)
// with the real command tree: each names a command that exists, with flags it
// has.
func TestReadmeCommands(t *testing.T) {
	total := 0
	for _, doc := range docFiles(t) {
		n := readmeCommands(t, doc)
		total += n
		if doc == readmePath && n < 10 {
			t.Errorf("found %d tokenkeeper commands in the README, want at least 10: is the extraction broken?", n)
		}
	}
	if total < 40 {
		t.Errorf("found %d tokenkeeper commands in the README and the guides, want at least 40: is the extraction broken?", total)
	}
}

// readmeCommands checks the commands of one document and returns how many.
func readmeCommands(t *testing.T, doc string) int {
	t.Helper()
	infos, bodies := readmeBlocks(t, doc)
	n := 0
	for i, body := range bodies {
		if infos[i] != "console" && infos[i] != "" && infos[i] != "ini" {
			continue
		}
		body = strings.ReplaceAll(body, "\\\n", " ")
		for _, line := range strings.Split(body, "\n") {
			shell, isShell := strings.CutPrefix(line, "$ ")
			if !isShell && infos[i] == "console" {
				continue // the output of a command
			}
			if !isShell && !strings.HasPrefix(line, "*/") && !strings.HasPrefix(line, "ExecStart=") {
				continue
			}
			if i := strings.Index(shell, " # "); i >= 0 {
				shell = shell[:i]
			}
			for _, m := range tokenkeeperCall.FindAllStringSubmatch(shell, -1) {
				n++
				checkReadmeCommand(t, docName(doc)+": line", line, strings.Fields(m[1]))
			}
		}
	}
	return n
}

func checkReadmeCommand(t *testing.T, where, line string, args []string) {
	t.Helper()
	fs := globalFlags()
	c, rest, unknown := findCommand(commandTable(), args, fs)
	if unknown != "" {
		t.Errorf("%s %q: unknown command %q", where, line, unknown)
		return
	}
	addCommandFlags(c, fs)
	if err := fs.Parse(rest); err != nil {
		t.Errorf("%s %q: %s: %v", where, line, c.name, err)
		return
	}
	if pos := fs.Args(); c.maxArgs >= 0 && len(pos) > c.maxArgs {
		t.Errorf("%s %q: %s takes at most %d arguments, got %q", where, line, cmp.Or(c.name, "tokenkeeper"), c.maxArgs, pos)
	}
}

// goTool is the go command that runs these tests.
func goTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command: %v", err)
	}
	return path
}
