package cli

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// wait is setup --wait: write the file if there is none (with any preset
// and flags applied), then watch it and re-check it on every save until it is
// complete, then do the first exchange. The directory is watched, not the
// file, so an editor that saves by rename is seen. Ctrl-C leaves the file as
// it is.
func (s *setupRun) wait() error {
	a, path := s.app, s.paths.CredentialsFile
	if s.changed(s.c) {
		if err := s.c.Save(path); err != nil {
			return err
		}
		a.info("wrote %s", path)
	}
	// Install the signal handler now, not when the watcher's goroutine first
	// waits on it: a Ctrl-C right after the first message must stop the wait
	// cleanly, not kill the process (seen under -race on a busy machine).
	_ = a.ctx.Done()
	events, err := storage.WatchFiles(a.ctx, []string{path}, storage.DefaultDebounce)
	if err != nil {
		return err
	}
	a.info("waiting for %s to be filled in (Ctrl-C to stop; the file stays as it is)", path)
	// The first check comes after the watch is in place, so that no save can
	// fall between the two unseen.
	for {
		done, err := a.waitCheck(path)
		if err != nil {
			return err
		}
		if done != nil {
			a.info("%s is complete", path)
			return s.exchange(done)
		}
		if _, ok := <-events; !ok {
			return &cmdError{exitError, "stopped waiting; " + path + " is as you left it",
				[]string{"run " + a.cmdLine("setup --wait") + " again, or " + a.cmdLine("refresh") + " once the file is complete"}}
		}
	}
}

// waitCheck loads the file and says what is still missing or wrong; it
// returns the credentials once they are complete and valid. Only an error
// that waiting cannot cure (an unreadable file) ends the wait.
func (a *app) waitCheck(path string) (*credentials.Credentials, error) {
	c, err := credentials.Load(path)
	var inv *credentials.InvalidError
	var syn *credentials.SyntaxError
	switch {
	case err == nil:
		a.addCredentials(c)
		return c, nil
	case errors.Is(err, fs.ErrNotExist):
		a.info("%s is gone; waiting for it to come back", path)
	case errors.As(err, &inv) && errors.Is(err, credentials.ErrIncomplete):
		a.info("still to fill in: %s", strings.Join(missingNames(inv), ", "))
		for _, p := range inv.Problems {
			if !isMissing(p) {
				a.info("  %s", p)
			}
		}
	case errors.As(err, &syn):
		a.message("info", syn.Detail(), syn.Hint)
	case errors.As(err, &inv):
		a.info("%s", inv.Detail())
	default:
		return nil, err
	}
	return nil, nil
}

func missingNames(inv *credentials.InvalidError) []string {
	var out []string
	for _, p := range inv.Problems {
		if isMissing(p) {
			out = append(out, p.Field)
		}
	}
	return out
}

// isMissing tells a field that is not set from a wrong value. Problem keeps
// its own mark private; "required…" is how its message starts.
func isMissing(p credentials.Problem) bool {
	return strings.HasPrefix(p.Msg, "required")
}
