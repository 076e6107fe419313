package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// File names of a profile, as the SAP Concur tutorial names them, so a
// tutorial user's files work unchanged.
const (
	CredentialsFileName = "credentials.json"
	TokenFileName       = "refreshTokenObjectFile.json"
	// LockSuffix is appended to the token file's name to form the lock file.
	LockSuffix = ".lock"
	// DefaultProfile is the profile used when none is given.
	DefaultProfile = "default"
	// appDir is the sub-directory of the XDG base directories we own.
	appDir = "tokenkeeper"
	// maxProfileLen keeps a profile name well inside NAME_MAX (255) once
	// suffixes such as ".corrupt-…" are added to files inside it.
	maxProfileLen = 128
)

// Options are the location settings, already merged by the caller from flags
// and TOKENKEEPER_* environment variables. Dir wins over ConfigDir and
// StateDir when set.
type Options struct {
	Profile   string // profile name; empty means DefaultProfile
	Dir       string // both files directly in Dir (the tutorial's layout)
	ConfigDir string // root holding one sub-directory per profile for credentials.json
	StateDir  string // root holding one sub-directory per profile for the token file
}

// Paths are the resolved, absolute locations of one profile's files.
type Paths struct {
	Profile string
	// ConfigDir and StateDir are the profile's own directories (with the
	// profile sub-directory already appended, unless Options.Dir was used).
	ConfigDir, StateDir                  string
	CredentialsFile, TokenFile, LockFile string
	// ConfigSource and StateSource say, for humans, why these directories
	// were chosen: "--dir flag", "$XDG_CONFIG_HOME", "XDG default ($HOME/.config)"…
	ConfigSource, StateSource string
}

// Resolve computes a profile's file locations. sources maps the option names
// "profile", "dir", "config-dir" and "state-dir" to where their value came
// from (e.g. "--dir flag", "TOKENKEEPER_DIR"); a missing entry is named
// after the option (Options.Dir): the library names no flag of the command
// line. Without Dir, ConfigDir/StateDir (or the XDG base directories plus
// "tokenkeeper") get a sub-directory per profile.
func Resolve(o Options, sources map[string]string) (Paths, error) {
	p := Paths{Profile: o.Profile}
	if p.Profile == "" {
		p.Profile = DefaultProfile
	}
	if err := checkProfile(p.Profile); err != nil {
		if src := sources["profile"]; src != "" {
			return Paths{}, fmt.Errorf("%w (from %s)", err, src)
		}
		return Paths{}, err
	}
	var err error
	if o.Dir != "" {
		if p.ConfigDir, err = absDir(o.Dir); err != nil {
			return Paths{}, err
		}
		p.StateDir = p.ConfigDir
		p.ConfigSource = sourceOr(sources, "dir", "Options.Dir")
		p.StateSource = p.ConfigSource
	} else {
		if err := checkHome(o); err != nil {
			return Paths{}, err
		}
		base, why := configHome()
		p.ConfigDir, p.ConfigSource, err = profileDir(o.ConfigDir, p.Profile,
			sourceOr(sources, "config-dir", "Options.ConfigDir"), base, why)
		if err != nil {
			return Paths{}, err
		}
		base, why = stateHome()
		p.StateDir, p.StateSource, err = profileDir(o.StateDir, p.Profile,
			sourceOr(sources, "state-dir", "Options.StateDir"), base, why)
		if err != nil {
			return Paths{}, err
		}
	}
	p.CredentialsFile = filepath.Join(p.ConfigDir, CredentialsFileName)
	p.TokenFile = filepath.Join(p.StateDir, TokenFileName)
	p.LockFile = p.TokenFile + LockSuffix
	return p, nil
}

// HomeError is a profile whose files would be under $HOME, which is unset
// (cron, systemd, env -i), while the XDG variable that would do instead is
// not an absolute path either. "/" in HOME's place, as the XDG rules have
// it, would put the profile in /.config/tokenkeeper: nothing is resolved,
// so nothing is written there.
type HomeError struct {
	// Vars are the XDG variables that would do instead of HOME, for the
	// directories that need one: XDG_CONFIG_HOME, XDG_STATE_HOME or both.
	Vars []string
}

func (e *HomeError) Error() string {
	return fmt.Sprintf("storage: HOME is not set, nor %s (as an absolute path): no place for the profile's files",
		strings.Join(e.Vars, " nor "))
}

// checkHome returns a *HomeError when a base directory the options leave to
// XDG needs HOME and HOME is unset. Windows finds its places without HOME.
func checkHome(o Options) error {
	if runtime.GOOS == "windows" { // no HOME there: the user's local application data
		if dir, _ := configHome(); dir == "" && (o.ConfigDir == "" || o.StateDir == "") {
			return &HomeError{Vars: []string{"LOCALAPPDATA"}}
		}
		return nil
	}
	if runtime.GOOS == "plan9" || os.Getenv("HOME") != "" {
		return nil
	}
	var vars []string
	for _, b := range []struct{ root, env string }{{o.ConfigDir, configEnv}, {o.StateDir, stateEnv}} {
		if b.root == "" && !filepath.IsAbs(os.Getenv(b.env)) { // "~/x" needs HOME too
			vars = append(vars, b.env)
		}
	}
	if vars == nil {
		return nil
	}
	return &HomeError{Vars: vars}
}

// profileDir returns root/profile, or base/tokenkeeper/profile when root is
// empty (base: the platform's XDG base directory, chosen for the reason why),
// with the reason for the choice.
func profileDir(root, profile, rootSource, base, why string) (dir, source string, err error) {
	if root != "" {
		dir, err = absDir(root)
		return filepath.Join(dir, profile), rootSource, err
	}
	dir, err = absDir(filepath.Join(base, appDir))
	return filepath.Join(dir, profile), why, err
}

func absDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("storage: resolve directory %s: %w", dir, err)
	}
	return abs, nil
}

func sourceOr(sources map[string]string, key, def string) string {
	if s := sources[key]; s != "" {
		return s
	}
	return def
}

// checkProfile accepts [A-Za-z0-9][A-Za-z0-9._-]*: the name becomes a path
// component, so it must not be empty, hidden, "." or "..", or contain a
// separator.
func checkProfile(name string) error {
	if name == "" || len(name) > maxProfileLen || !isAlnum(name[0]) {
		return profileError(name)
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return profileError(name)
		}
	}
	return nil
}

// ValidProfile tells whether name is a profile name (see checkProfile):
// what ListProfiles lists, and what a store lists as its profiles.
func ValidProfile(name string) bool { return checkProfile(name) == nil }

func profileError(name string) error {
	return fmt.Errorf("storage: invalid profile name %q: want letters, digits, '.', '_' or '-', "+
		"starting with a letter or digit, at most %d characters", name, maxProfileLen)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// Exists tells whether the profile exists: a profile exists as soon as
// either of its directories does (with Options.Dir, that directory). Only
// the commands that create a profile may act on one that does not: a
// mistyped name must not leave a directory behind. A *NotDirError says that
// a file stands where a directory of the profile, or one above it, belongs.
// A directory that cannot be examined (permissions) counts as existing: the
// command then meets the problem and names it.
func (p Paths) Exists() (bool, error) {
	for _, dir := range []string{p.ConfigDir, p.StateDir} {
		fi, err := os.Stat(dir)
		if err != nil {
			// Only a path Stat could not follow can be a broken link: the
			// common case costs no lstat(2).
			if le := brokenLink(dir); le != nil {
				// mkdir would answer "file exists" of what ls shows as a
				// link, and a loop would be met by every file of the profile.
				if le.gone {
					target, _ := os.Readlink(dir)
					if !filepath.IsAbs(target) {
						target = filepath.Join(filepath.Dir(dir), target)
					}
					le.Hint = "create the directory it points to (mkdir -m 700 " + shellQuote(target) + "), or remove the link (rm " + shellQuote(dir) + ")"
				} else {
					le.Hint = "point the link at a directory (ln -sfn DIR " + shellQuote(dir) + "), or remove the link (rm " + shellQuote(dir) + ")"
				}
				return false, le
			}
		}
		switch {
		case err == nil && fi.IsDir():
			return true, nil
		case err == nil:
			return false, &NotDirError{Path: dir, Source: p.sourceOf(dir)}
		case errors.Is(err, syscall.ENOTDIR) && fileAbove(dir) != dir:
			// Windows says ENOTDIR (path not found) for a missing parent
			// too: only a file actually found above is one.
			return false, &NotDirError{Path: fileAbove(dir), Source: p.sourceOf(dir)}
		case !errors.Is(err, fs.ErrNotExist):
			return true, nil
		}
	}
	return false, nil
}

func (p Paths) sourceOf(dir string) string {
	if dir == p.ConfigDir {
		return p.ConfigSource
	}
	return p.StateSource
}

// fileAbove is the first of dir's parents that is no directory (the one that
// made a stat of dir fail with ENOTDIR), or dir when none is found.
func fileAbove(dir string) string {
	for d := filepath.Dir(dir); d != filepath.Dir(d); d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && !fi.IsDir() {
			return d
		}
	}
	return dir
}

// NotDirError is a file where a profile's directory (Path, chosen by Source:
// "--dir flag", "$XDG_CONFIG_HOME"…), or one of its parents, belongs.
type NotDirError struct{ Path, Source string }

func (e *NotDirError) Error() string {
	return fmt.Sprintf("storage: %s (from %s) is a file, not a directory", e.Path, e.Source)
}

// ListProfiles returns the sorted names of root's sub-directories that are
// valid profile names (symbolic links to directories included, and links that
// lead nowhere, whose runs say so). A missing
// root is an empty list, not an error: no profile has been created yet.
func ListProfiles(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return []string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: list profiles in %s: %w", root, err)
	}
	names := []string{} // os.ReadDir sorts by name already
	for _, e := range entries {
		if checkProfile(e.Name()) != nil {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			// A link that leads nowhere (its target missing: a volume not
			// mounted; a loop) is listed: left out, --all would renew
			// every other profile and exit 0 while this one is never
			// renewed. Its run says what is wrong with it.
			fi, err := os.Stat(filepath.Join(root, e.Name()))
			isDir = err == nil && fi.IsDir() || err != nil && brokenLink(filepath.Join(root, e.Name())) != nil
		}
		if isDir {
			names = append(names, e.Name())
		}
	}
	return names, nil
}
