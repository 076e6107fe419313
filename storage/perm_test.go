package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPermissionWarning(t *testing.T) {
	skipOnWindows(t, "mode bits (modeBitsTell)")
	dir := tempDir(t)
	tests := []struct {
		name string
		mode os.FileMode
		want string // %s = path
	}{
		{"private", 0o600, ""},
		{"owner read only", 0o400, ""},
		{"no permissions at all", 0o000, ""},
		{"world readable", 0o644, "%s is readable by group and others (mode 0644); run: chmod 600 %s"},
		{"group readable", 0o640, "%s is readable by group (mode 0640); run: chmod 600 %s"},
		{"others readable", 0o604, "%s is readable by others (mode 0604); run: chmod 600 %s"},
		{"group writable only", 0o620, "%s is writable by group (mode 0620); run: chmod 600 %s"},
		{"others execute only", 0o601, "%s is accessible by others (mode 0601); run: chmod 600 %s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil { // umask-free
				t.Fatal(err)
			}
			want := tt.want
			if want != "" {
				want = fmt.Sprintf(want, path, shellQuote(path))
			}
			if got := PermissionWarning(path); got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			// The warning's parts, for a caller that words its own refusal.
			x := FileExposure(path)
			if (x == nil) != (want == "") {
				t.Fatalf("FileExposure: got %+v, want one only with a warning", x)
			}
			if x != nil && (x.Path != path || x.Fix != "chmod 600 "+shellQuote(path) || path+" "+x.Problem+"; run: "+x.Fix != want) {
				t.Errorf("FileExposure: got %+v, want the parts of %q", x, want)
			}
		})
	}
	if got := PermissionWarning(filepath.Join(dir, "missing")); got != "" {
		t.Errorf("missing file: got %q, want empty", got)
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/home/u/.config/tokenkeeper/default/credentials.json", "/home/u/.config/tokenkeeper/default/credentials.json"},
		{"/My Files/c.json", "'/My Files/c.json'"},
		{"/it's", `'/it'\''s'`},
		{"", "''"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDirWarnings(t *testing.T) {
	skipOnWindows(t, "mode bits (modeBitsTell)")
	dir := tempDir(t)
	p, err := Resolve(Options{Dir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode os.FileMode
		want string // %s = dir
	}{
		{0o700, ""},
		{0o755, ""}, // readable is the user's choice: the files inside are 0600
		{0o775, "%s is writable by group (mode 0775), who could replace the files in it; run: chmod go-w %s"},
		{0o777, "%s is writable by group and others (mode 0777), who could replace the files in it; run: chmod go-w %s"},
		{0o757, "%s is writable by others (mode 0757), who could replace the files in it; run: chmod go-w %s"},
	} {
		if err := os.Chmod(dir, tt.mode); err != nil {
			t.Fatal(err)
		}
		var want []string
		if tt.want != "" {
			want = []string{fmt.Sprintf(tt.want, dir, shellQuote(dir))}
		}
		if got := DirWarnings(p); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("mode %04o: got %q, want %q", tt.mode, got, want)
		}
	}

	// A token file linked into a shared directory: that one is named too.
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	shared := tempDir(t)
	if err := os.Chmod(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(shared, "tok.json")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p.TokenFile); err != nil {
		t.Fatal(err)
	}
	got := DirWarnings(p)
	if len(got) != 1 || !strings.HasPrefix(got[0], shared+" is writable by group and others") {
		t.Errorf("linked into a shared directory: got %q, want a warning about %s", got, shared)
	}
}
