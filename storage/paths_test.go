package storage

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/adrg/xdg"
)

// setXDG sets the environment for the XDG case and reloads adrg/xdg, which
// reads it once. Empty values unset the variable.
func setXDG(t *testing.T, home, config, state string) {
	t.Helper()
	for k, v := range map[string]string{"HOME": home, "XDG_CONFIG_HOME": config, "XDG_STATE_HOME": state} {
		t.Setenv(k, v) // restores the old value at cleanup
		if v == "" {
			os.Unsetenv(k)
		}
	}
	xdg.Reload()
	t.Cleanup(xdg.Reload)
}

func TestResolve(t *testing.T) {
	skipOnWindows(t, "Unix paths and the XDG defaults")
	home := tempDir(t)
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{"dir": "--dir flag", "config-dir": "TOKENKEEPER_CONFIG_DIR", "state-dir": "--state-dir flag"}
	tests := []struct {
		name                  string
		opts                  Options
		sources               map[string]string
		config, state         string // env; "" unsets
		wantConfig, wantState string // profile directories
		wantCSource, wantSSrc string
		wantProfile           string
	}{
		{
			name:       "flag dir holds both files without profile sub-directory",
			opts:       Options{Profile: "work", Dir: "/srv/tk"},
			sources:    sources,
			wantConfig: "/srv/tk", wantState: "/srv/tk",
			wantCSource: "--dir flag", wantSSrc: "--dir flag", wantProfile: "work",
		},
		{
			name:       "relative dir made absolute",
			opts:       Options{Dir: "rel/dir"},
			wantConfig: filepath.Join(cwd, "rel/dir"), wantState: filepath.Join(cwd, "rel/dir"),
			wantCSource: "Options.Dir", wantSSrc: "Options.Dir", wantProfile: "default",
		},
		{
			name:       "dir wins over roots",
			opts:       Options{Dir: "/d", ConfigDir: "/c", StateDir: "/s"},
			sources:    sources,
			wantConfig: "/d", wantState: "/d",
			wantCSource: "--dir flag", wantSSrc: "--dir flag", wantProfile: "default",
		},
		{
			name:       "config and state roots get profile sub-directory",
			opts:       Options{Profile: "eu", ConfigDir: "/c", StateDir: "/s/"},
			sources:    sources,
			wantConfig: "/c/eu", wantState: "/s/eu",
			wantCSource: "TOKENKEEPER_CONFIG_DIR", wantSSrc: "--state-dir flag", wantProfile: "eu",
		},
		{
			name:       "config root only, state from XDG env",
			opts:       Options{ConfigDir: "/c"},
			state:      "/xs",
			wantConfig: "/c/default", wantState: "/xs/tokenkeeper/default",
			wantCSource: "Options.ConfigDir", wantSSrc: "$XDG_STATE_HOME", wantProfile: "default",
		},
		{
			name:   "XDG variables set",
			config: "/xc", state: "/xs",
			wantConfig: "/xc/tokenkeeper/default", wantState: "/xs/tokenkeeper/default",
			wantCSource: "$XDG_CONFIG_HOME", wantSSrc: "$XDG_STATE_HOME", wantProfile: "default",
		},
		{
			name:        "XDG defaults under HOME",
			opts:        Options{Profile: "p1"},
			wantConfig:  filepath.Join(home, ".config/tokenkeeper/p1"),
			wantState:   filepath.Join(home, ".local/state/tokenkeeper/p1"),
			wantCSource: "XDG default ($HOME/.config)", wantSSrc: "XDG default ($HOME/.local/state)", wantProfile: "p1",
		},
		{
			name:        "relative XDG variable ignored and said so",
			config:      "relative/cfg",
			wantConfig:  filepath.Join(home, ".config/tokenkeeper/default"),
			wantState:   filepath.Join(home, ".local/state/tokenkeeper/default"),
			wantCSource: `XDG default ($HOME/.config); $XDG_CONFIG_HOME="relative/cfg" ignored, not an absolute path`,
			wantSSrc:    "XDG default ($HOME/.local/state)", wantProfile: "default",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setXDG(t, home, tt.config, tt.state)
			got, err := Resolve(tt.opts, tt.sources)
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			want := Paths{
				Profile: tt.wantProfile, ConfigDir: tt.wantConfig, StateDir: tt.wantState,
				CredentialsFile: filepath.Join(tt.wantConfig, "credentials.json"),
				TokenFile:       filepath.Join(tt.wantState, "refreshTokenObjectFile.json"),
				LockFile:        filepath.Join(tt.wantState, "refreshTokenObjectFile.json.lock"),
				ConfigSource:    tt.wantCSource, StateSource: tt.wantSSrc,
			}
			if got != want {
				t.Errorf("Resolve:\ngot  %+v\nwant %+v", got, want)
			}
			for _, p := range []string{got.ConfigDir, got.StateDir, got.CredentialsFile, got.TokenFile, got.LockFile} {
				if !filepath.IsAbs(p) {
					t.Errorf("got relative path %q, want absolute", p)
				}
			}
		})
	}
}

// TestResolveHomeUnset: without HOME, a base directory left to XDG needs its
// variable as an absolute path, or nothing is resolved (no /.config); the
// error names the variables that would do.
func TestResolveHomeUnset(t *testing.T) {
	skipOnWindows(t, "the XDG defaults under $HOME")
	for _, tt := range []struct {
		name          string
		config, state string // XDG_CONFIG_HOME, XDG_STATE_HOME
		opts          Options
		wantVars      []string // nil: resolved
	}{
		{name: "nothing", wantVars: []string{"XDG_CONFIG_HOME", "XDG_STATE_HOME"}},
		{name: "config only", config: "/x/config", wantVars: []string{"XDG_STATE_HOME"}},
		{name: "relative and tilde", config: "rel", state: "~/state", wantVars: []string{"XDG_CONFIG_HOME", "XDG_STATE_HOME"}},
		{name: "both", config: "/x/config", state: "/x/state"},
		{name: "roots given", opts: Options{ConfigDir: "/c", StateDir: "/s"}},
		{name: "config root given", opts: Options{ConfigDir: "/c"}, wantVars: []string{"XDG_STATE_HOME"}},
		{name: "dir given", opts: Options{Dir: "/d"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setXDG(t, "", tt.config, tt.state)
			got, err := Resolve(tt.opts, nil)
			var he *HomeError
			if tt.wantVars == nil {
				if err != nil {
					t.Fatalf("Resolve: %v, want no error", err)
				}
				if strings.HasPrefix(got.ConfigDir, "/.") || strings.HasPrefix(got.StateDir, "/.") {
					t.Errorf("resolved %s and %s under /", got.ConfigDir, got.StateDir)
				}
				return
			}
			if !errors.As(err, &he) {
				t.Fatalf("Resolve = %+v, %v; want a *HomeError", got, err)
			}
			if !reflect.DeepEqual(he.Vars, tt.wantVars) {
				t.Errorf("Vars %q, want %q", he.Vars, tt.wantVars)
			}
			for _, v := range append([]string{"HOME"}, tt.wantVars...) {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
			}
		})
	}
}

func TestResolveBadProfile(t *testing.T) {
	long := strings.Repeat("a", maxProfileLen+1)
	for _, name := range []string{".", "..", "../etc", "a/b", `a\b`, ".hidden", "-x", "_x", "with space", "é", "a\x00b", long} {
		t.Run(name, func(t *testing.T) {
			_, err := Resolve(Options{Profile: name, Dir: "/d"}, map[string]string{"profile": "TOKENKEEPER_PROFILE"})
			if err == nil {
				t.Fatalf("Resolve(profile %q): got nil error, want one", name)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "storage: invalid profile name") || !strings.HasSuffix(msg, "(from TOKENKEEPER_PROFILE)") {
				t.Errorf("got %q, want storage: invalid profile name … (from TOKENKEEPER_PROFILE)", msg)
			}
		})
	}
}

func TestResolveGoodProfile(t *testing.T) {
	skipOnWindows(t, "Unix paths")
	for _, name := range []string{"a", "0", "A.b_c-d", "prod..eu", strings.Repeat("z", maxProfileLen)} {
		got, err := Resolve(Options{Profile: name, ConfigDir: "/c", StateDir: "/s"}, nil)
		if err != nil {
			t.Errorf("Resolve(profile %q): %v", name, err)
			continue
		}
		if want := filepath.Join("/c", name); got.ConfigDir != want {
			t.Errorf("ConfigDir: got %q, want %q", got.ConfigDir, want)
		}
	}
}

// FuzzResolveProfile checks that no accepted profile name leaves its root.
func FuzzResolveProfile(f *testing.F) {
	skipOnWindows(f, "Unix paths")
	for _, s := range []string{"default", "..", "a/../b", "x.y", "", "-", "a\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p, err := Resolve(Options{Profile: name, ConfigDir: "/root-c", StateDir: "/root-s"}, nil)
		if err != nil {
			return
		}
		if filepath.Dir(p.ConfigDir) != "/root-c" || filepath.Dir(p.StateDir) != "/root-s" {
			t.Errorf("profile %q resolved outside its roots: %q, %q", name, p.ConfigDir, p.StateDir)
		}
		if filepath.Base(p.ConfigDir) != p.Profile {
			t.Errorf("profile %q: got dir %q, want base %q", name, p.ConfigDir, p.Profile)
		}
	})
}

func TestListProfiles(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	root := tempDir(t)
	for _, d := range []string{"prod", "default", ".hidden", "bad name", "b-2"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "prod"), filepath.Join(root, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(root, "dangling")); err != nil {
		t.Fatal(err)
	}
	got, err := ListProfiles(root)
	if err != nil {
		t.Fatal(err)
	}
	// The dangling link is listed: its run says what is wrong with it.
	if want := []string{"b-2", "dangling", "default", "linked", "prod"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}

	got, err = ListProfiles(filepath.Join(root, "missing"))
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("missing root: got %q, %v; want empty list, nil error", got, err)
	}

	_, err = ListProfiles(filepath.Join(root, "file"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "file")) {
		t.Errorf("root is a file: got %v, want error naming it", err)
	}
}

func TestPathsExists(t *testing.T) {
	root := tempDir(t)
	file := filepath.Join(root, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "state", "p"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name          string
		config, state string
		want          bool
		wantNotDir    string // the file a *NotDirError names
	}{
		{name: "neither", config: filepath.Join(root, "c", "p"), state: filepath.Join(root, "s", "p")},
		{name: "state only", config: filepath.Join(root, "c", "p"), state: filepath.Join(root, "state", "p"), want: true},
		{name: "a file", config: file, state: file, wantNotDir: file},
		{name: "under a file", config: filepath.Join(file, "a", "p"), state: filepath.Join(root, "s", "p"), wantNotDir: file},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Paths{ConfigDir: tt.config, StateDir: tt.state, ConfigSource: "--dir flag"}.Exists()
			var nd *NotDirError
			switch {
			case tt.wantNotDir != "":
				if !errors.As(err, &nd) || nd.Path != tt.wantNotDir || nd.Source != "--dir flag" {
					t.Errorf("Exists() = %v, %v; want a *NotDirError for %s", got, err, tt.wantNotDir)
				}
			case err != nil || got != tt.want:
				t.Errorf("Exists() = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
