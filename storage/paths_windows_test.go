package storage

import (
	"os"
	"path/filepath"
	"testing"
)

// TestResolveWindowsDirs: --dir, --config-dir and --state-dir as Windows users
// write them (a drive path, forward slashes, a UNC share, a relative path)
// resolve to absolute Windows paths, the share's \\server\share prefix kept,
// with the profile's files inside.
func TestResolveWindowsDirs(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dir, want string }{
		{`C:\Users\x\tk`, `C:\Users\x\tk`},
		{`C:/Users/x/tk/`, `C:\Users\x\tk`},
		{`\\server\share\tk`, `\\server\share\tk`},
		{`tk`, filepath.Join(wd, "tk")},
		{`..\tk`, filepath.Join(filepath.Dir(wd), "tk")},
	} {
		p, err := Resolve(Options{Dir: tt.dir}, nil)
		if err != nil {
			t.Errorf("--dir %s: %v", tt.dir, err)
			continue
		}
		if p.ConfigDir != tt.want || p.StateDir != tt.want ||
			p.CredentialsFile != tt.want+`\credentials.json` ||
			p.TokenFile != tt.want+`\refreshTokenObjectFile.json` ||
			p.LockFile != tt.want+`\refreshTokenObjectFile.json.lock` {
			t.Errorf("--dir %s: got %+v, want everything in %s", tt.dir, p, tt.want)
		}
	}

	p, err := Resolve(Options{Profile: "eu", ConfigDir: `\\server\share\cfg`, StateDir: `D:\state`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.CredentialsFile != `\\server\share\cfg\eu\credentials.json` || p.TokenFile != `D:\state\eu\refreshTokenObjectFile.json` {
		t.Errorf("--config-dir on a share, --state-dir on D: got %+v", p)
	}
}
