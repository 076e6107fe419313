package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/tokenkeeper/tokenkeeper/internal/editdist"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Only init, setup and the bare run (the tutorial's first run) create a
// profile. Every other command on a profile that does not exist
// (storage.Paths.Exists: neither of its directories does) creates nothing
// and exits 78, naming the nearest existing profile and the command that
// creates one: a mistyped --profile or --dir must not leave a profile behind
// that every later `refresh --all` reports as broken.
//
// With --store, a profile exists where its directories do, on this host:
// credentials.json is kept on each host. A profile whose record is in the
// store can still hand out a valid access token without them (token reads
// the record, not the credentials, and keeps the host's read copy); anything
// that needs the credentials, and watch, serve and store push/pull, which
// need the profile here, say that the store has the record and the
// credentials are missing here.
// The nearest name is looked for among the local profiles and the store's,
// the store given storeGlance to answer.

// requireProfile returns nil when the profile exists, else the error that
// says what is missing.
func (a *app) requireProfile() error {
	ok, err := a.paths.Exists()
	switch {
	case err != nil:
		return notDirError(err)
	case ok:
		return nil
	}
	return a.noProfileError()
}

// checkDirs returns the error of a file where a directory of the profile
// belongs (--dir naming a file), for the commands that create a profile.
func (a *app) checkDirs() error {
	if _, err := a.paths.Exists(); err != nil {
		return notDirError(err)
	}
	return nil
}

// missingFile tells whether err is a file that is not there, or whose
// directory is not (ENOTDIR: a file stands where a directory belongs).
func missingFile(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNotDir)
}

// errNotDir is the error of a path through a file: errors.Is matches it in
// an *os.PathError.
var errNotDir error = syscall.ENOTDIR

// notDirError is the 78 of a file where a profile's directory belongs (a
// --dir naming a file).
func notDirError(err error) error {
	var nd *storage.NotDirError
	var rec *storage.RecordError
	switch {
	case errors.As(err, &rec): // a link where the directory belongs that leads nowhere
		return &refresh.Error{Kind: refresh.KindCredentials, Err: err, Msg: err.Error(), Hint: rec.Hint}
	case !errors.As(err, &nd):
		return err
	}
	hint := fmt.Sprintf("name a directory with %s", strings.TrimSuffix(nd.Source, " flag"))
	if !storage.SystemPath(nd.Path) { // never a command that would move what the system needs
		hint += fmt.Sprintf(", or move the file %s away", nd.Path)
	}
	return &refresh.Error{Kind: refresh.KindCredentials, Err: err, Msg: err.Error(), Hint: hint}
}

// noProfileError is the 78 of a profile that does not exist: what was looked
// for, the nearest existing name, and the command that creates it.
func (a *app) noProfileError() error {
	if a.g.dir != "" {
		dir := a.paths.ConfigDir
		msg := fmt.Sprintf("no profile in %s (from %s): the directory does not exist", dir, a.paths.ConfigSource)
		siblings, _ := storage.ListProfiles(filepath.Dir(dir))
		near := editdist.Nearest(filepath.Base(dir), siblings)
		if near != "" {
			near = filepath.Join(filepath.Dir(a.g.dir), near) // as the user wrote it
		}
		return a.noProfile(msg, a.didYouMean("dir", near))
	}
	name := a.paths.Profile
	configRoot, stateRoot := filepath.Dir(a.paths.ConfigDir), filepath.Dir(a.paths.StateDir)
	where := configRoot
	if stateRoot != configRoot {
		where += " or " + stateRoot
	}
	inStore := func() error {
		return a.noProfile(fmt.Sprintf("no profile %s on this host: the store has its record, but each host keeps its own credentials.json", name),
			fmt.Sprintf("copy credentials.json from a host that has it to %s", a.paths.CredentialsFile))
	}
	if a.listed { // from a listing: no typo, and what was listed is local or the store's
		if a.g.store != "" {
			return inStore()
		}
		return a.noProfile(fmt.Sprintf("no profile %s in %s", name, where), "")
	}
	names, _ := localProfiles(configRoot, stateRoot)
	if all, err := a.storeProfiles(names, storeGlance); err == nil {
		if slices.Contains(all, name) {
			return inStore()
		}
		names = all
	}
	msg := fmt.Sprintf("no profile %s in %s", name, where)
	return a.noProfile(msg, a.didYouMean("profile", editdist.Nearest(name, names)))
}

// noProfile is the error of a profile that does not exist: its message, the
// existing one meant ("did you mean …?", or another fix), and how to create
// it. It matches fs.ErrNotExist: its credentials are missing (status's verdict).
func (a *app) noProfile(msg, meant string) error {
	hint := fmt.Sprintf("to create it, run %s (or %s)", a.cmdLine("init"), a.cmdLine("setup"))
	if meant != "" {
		hint = fmt.Sprintf("%s (or create it: %s, or %s)", meant, a.cmdLine("init"), a.cmdLine("setup"))
	}
	return &refresh.Error{Kind: refresh.KindCredentials, Err: fs.ErrNotExist, Msg: msg, Hint: hint}
}

// didYouMean suggests value for the global flag name, as the user gave it (a
// flag, or its TOKENKEEPER_* variable); "" when there is no value.
func (a *app) didYouMean(name, value string) string {
	if value == "" {
		return ""
	}
	if src := a.g.sources[name]; src == envName(name) {
		return fmt.Sprintf("did you mean %s=%s?", src, shellQuote(value))
	}
	return fmt.Sprintf("did you mean --%s %s?", name, shellQuote(value))
}
