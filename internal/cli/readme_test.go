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

// readmeBlocks returns the README's fenced code blocks with their info string
// ("go", "console", "" …).
func readmeBlocks(t *testing.T) (infos, bodies []string) {
	t.Helper()
	data, err := os.ReadFile(readmePath)
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

// TestReadmeGoExample builds every Go program in the README (a block that
// starts with "package main") against this module, through an overlay: no
// file is written into the repository.
func TestReadmeGoExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	infos, bodies := readmeBlocks(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, body := range bodies {
		if infos[i] != "go" {
			continue
		}
		if !strings.HasPrefix(body, "package main") {
			t.Errorf("README: a Go block that is not a whole program (package main); it cannot be checked:\n%s", body)
			continue
		}
		n++
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
			t.Errorf("README's Go example %d does not build: %v\n%s", n, err, out)
		}
	}
	if n == 0 {
		t.Error("README has no Go program to check")
	}
}

// tokenkeeperCall finds the arguments of a tokenkeeper command on a shell
// line: after "tokenkeeper " (or ".../tokenkeeper "), up to what ends a
// command in a shell.
var tokenkeeperCall = regexp.MustCompile("(?:^|[\\s/(])tokenkeeper((?: [^|;&<>)#\"'`\\s]+)*)")

// TestReadmeCommands parses every tokenkeeper command the README shows (shell
// lines after "$ ", crontab and systemd lines) with the real command tree:
// each names a command that exists, with flags it has.
func TestReadmeCommands(t *testing.T) {
	infos, bodies := readmeBlocks(t)
	n := 0
	for i, body := range bodies {
		if infos[i] != "console" && infos[i] != "" {
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
				checkReadmeCommand(t, line, strings.Fields(m[1]))
			}
		}
	}
	if n < 20 {
		t.Errorf("found %d tokenkeeper commands in the README, want at least 20: is the extraction broken?", n)
	}
}

func checkReadmeCommand(t *testing.T, line string, args []string) {
	t.Helper()
	fs := globalFlags()
	c, rest, unknown := findCommand(commandTable(), args, fs)
	if unknown != "" {
		t.Errorf("README line %q: unknown command %q", line, unknown)
		return
	}
	addCommandFlags(c, fs)
	if err := fs.Parse(rest); err != nil {
		t.Errorf("README line %q: %s: %v", line, c.name, err)
		return
	}
	if pos := fs.Args(); c.maxArgs >= 0 && len(pos) > c.maxArgs {
		t.Errorf("README line %q: %s takes at most %d arguments, got %q", line, cmp.Or(c.name, "tokenkeeper"), c.maxArgs, pos)
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
