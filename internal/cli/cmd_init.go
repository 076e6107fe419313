package cli

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

func initCommand() *command {
	return &command{
		name: "init", summary: "write the credentials.json template (never overwrites)",
		long: `Write the credentials.json template (0600, in a 0700 directory) if there is
none, and say which fields to fill in. An existing file is never overwritten.`,
		example: `tokenkeeper init
tokenkeeper --profile eu init`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			return func(a *app, _ []string) int { return a.exit(a.cmdInit()) }
		},
	}
}

func (a *app) cmdInit() error {
	if err := a.checkDirs(); err != nil {
		return err
	}
	path := a.paths.CredentialsFile
	created, err := credentials.WriteTemplate(path)
	if err != nil {
		return credentialsWriteError(err)
	}
	if !created {
		// What stands there and is no file to keep (a link to nothing, a
		// FIFO) is said as such, not "already exists" with exit 0.
		if _, rerr := storage.ReadFile(path); errors.As(rerr, new(*storage.RecordError)) {
			return credentialsWriteError(rerr)
		}
		a.info("%s already exists; not overwriting it", path)
		return nil
	}
	a.info("wrote a credentials template to %s", path)
	a.message("info", "fill in: "+templateMissing()+" (or set grantType for other providers)",
		"then run "+a.cmdLine("refresh"))
	return nil
}

// credentialsWriteError is the error of credentials.json that could not be
// written (init, setup, the first run's template): a file the user must fix
// (a link of another user, which is not followed) with its own hint and 78;
// anything else (a directory that is not writable) unexpected.
func credentialsWriteError(err error) error {
	var rec *storage.RecordError
	if errors.As(err, &rec) {
		return &refresh.Error{Kind: refresh.KindCredentials, Err: err, Msg: err.Error(), Hint: rec.Hint}
	}
	return &refresh.Error{Kind: refresh.KindUnexpected, Err: err, Msg: err.Error(),
		Hint: "check that the directory is writable, or choose another with --dir or --config-dir"}
}
