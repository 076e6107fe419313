package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestPermissionWarning(t *testing.T) {
	dir := t.TempDir()
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
