package cli

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestGitHelperLine: the git config line of git-credential's hint gives git,
// after the user's shell (sh, or PowerShell on Windows) and then the shell git
// runs the helper in (sh, Git for Windows' too), the tokenkeeper arguments as
// they were: paths with spaces, quotes and Windows backslashes included.
func TestGitHelperLine(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to run the lines with")
	}
	for _, c := range []struct {
		goos string
		args []string
	}{
		{"linux", []string{"tokenkeeper", "--dir", "/home/u/it's my dir", "git-credential"}},
		{"linux", []string{"tokenkeeper", "--profile", "work", "git-credential"}},
		{"windows", []string{"tokenkeeper", "--dir", `C:\Users\me\my tk`, "git-credential"}},
		{"windows", []string{"tokenkeeper", "--dir", `C:\Users\O'Brien\tk`, "git-credential"}},
	} {
		var quoted []string
		for _, a := range c.args {
			quoted = append(quoted, shellQuote(a))
		}
		line := gitHelperLine(c.goos, strings.Join(quoted, " "))
		rest, ok := strings.CutPrefix(line, "git config --global --add credential.https://HOST.helper ")
		if !ok {
			t.Fatalf("%s: %s", c.goos, line)
		}
		var value string
		if c.goos == "windows" {
			// PowerShell's single-quoted string: '' is a quote, nothing else is
			// special.
			inner, ok := strings.CutPrefix(rest, "'")
			inner, ok2 := strings.CutSuffix(inner, "'")
			if !ok || !ok2 || strings.Contains(strings.ReplaceAll(inner, "''", ""), "'") {
				t.Fatalf("windows: not one PowerShell single-quoted string: %s", rest)
			}
			value = strings.ReplaceAll(inner, "''", "'")
		} else {
			args := shWords(t, rest)
			if len(args) != 1 {
				t.Fatalf("%s: the value is %d words for sh: %q", c.goos, len(args), args)
			}
			value = args[0]
		}
		helper, ok := strings.CutPrefix(value, "!")
		if !ok {
			t.Fatalf("%s: the helper %q does not start with !", c.goos, value)
		}
		if got := shWords(t, helper); !slices.Equal(got, c.args) {
			t.Errorf("%s: git's sh runs %q, want %q (line: %s)", c.goos, got, c.args, line)
		}
	}
}

// shWords is the words sh makes of s.
func shWords(t *testing.T, s string) []string {
	t.Helper()
	out, err := exec.Command("sh", "-c", `printf '%s\000' `+s).Output()
	if err != nil {
		t.Fatalf("sh: %s: %v", s, err)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}
