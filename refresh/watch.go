package refresh

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Defaults of a Watcher's waits after a failed renewal.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// minRenewGap keeps a token endpoint that issues very short-lived tokens from
	// being asked more than a few times a second.
	minRenewGap = 250 * time.Millisecond
)

// Causes of a Watcher's check, in WatchEvent.Cause.
const (
	CauseStart       = "start"
	CauseTimer       = "timer"       // the renewal (or retry) timer fired
	CauseCredentials = "credentials" // credentials.json changed
	CauseTokenFile   = "token file"  // the token file changed (another process, or our own save)
	CauseReload      = "reload"      // Watcher.Reload (SIGHUP)
)

// Watcher keeps one profile's access token renewed for as long as Run runs: it
// renews shortly before expiry on a timer set from the stored token (no polling: it
// sleeps until then), through the same locked lifecycle as Manager.Ensure. It reads
// credentials.json again when the file changes, and reschedules from a token file
// written by another process. A failed renewal is retried with capped exponential
// backoff, for ever; one that needs a human (Manager errors of KindNeedsHuman or
// KindCredentials, or credentials.json missing or invalid) is not retried: the
// Watcher waits for credentials.json (or the token file) to change, or for Reload.
//
// The Manager's credentials should come from LoadCredentials, not Creds: Creds
// given by the caller are never read again.
type Watcher struct {
	Manager *Manager

	// Changes, when set, delivers the paths of changed files (storage.WatchFiles'
	// channel, shared by several Watchers for instance); paths other than the
	// profile's two files are ignored. Nil: Run watches the profile's files itself.
	Changes <-chan string
	// Reload, when it delivers, makes the Watcher read credentials.json again and
	// check the token now (the CLI sends SIGHUP here).
	Reload <-chan struct{}

	MinBackoff, MaxBackoff time.Duration // 0: DefaultMinBackoff, DefaultMaxBackoff

	// Notify, when set, is told of every check: renewals, tokens seen on disk,
	// failures. It is called from Run's goroutine; it must not block for long.
	Notify func(WatchEvent)
}

// WatchEvent is the outcome of one check.
type WatchEvent struct {
	Cause   string
	Result  *Result // nil when Err is set
	Err     error
	Changed bool      // the access token differs from the one the Watcher last had
	Next    time.Time // when the next renewal or retry is due; zero: waiting for a human
}

// Run watches until ctx ends, then returns nil. A renewal under way when ctx ends
// is finished first (bounded by the Client's Timeout and the Manager's LockTimeout):
// a rotated refresh token the endpoint has already spent must not be lost. Run
// returns an error only when the files cannot be watched.
func (w *Watcher) Run(ctx context.Context) error {
	changes := w.Changes
	if changes == nil {
		p := w.Manager.Paths
		files := []string{p.CredentialsFile, p.TokenFile}
		if real := w.Manager.resolvedTokenFile(); real != "" {
			files = append(files, real) // a link's target is saved in its own directory
		}
		ch, err := storage.WatchFiles(ctx, files, 0)
		if err != nil {
			return fmt.Errorf("refresh: watch: %w", err)
		}
		changes = ch
	}
	s := &watchState{w: w, timer: time.NewTimer(time.Hour)}
	s.timer.Stop()
	defer s.timer.Stop()
	s.reload(ctx, CauseStart)
	for {
		var path string
		cause := ""
		select {
		case <-ctx.Done():
			return nil
		case p, ok := <-changes:
			if !ok {
				return nil
			}
			cause, path = CauseTokenFile, p
		case <-w.Reload:
			cause = CauseReload
		case <-s.timer.C:
			cause = CauseTimer
		}
		if ctx.Err() != nil { // select picks at random among ready cases
			return nil
		}
		switch cause {
		case CauseTokenFile:
			s.fileChanged(ctx, path)
		case CauseReload:
			s.reload(ctx, CauseReload)
		case CauseTimer:
			// Force, but only if the stored token is still the one the timer was
			// set for: another process may have renewed it a moment ago.
			s.check(ctx, CauseTimer, Options{Force: true, Stale: s.current})
		}
	}
}

// watchState is what Run's loop remembers between checks.
type watchState struct {
	w        *Watcher
	timer    *time.Timer
	current  string    // the access token the timer is set for ("" when none)
	renewAt  time.Time // when current is renewed
	next     time.Time // when the timer fires; zero: stopped
	failures int       // consecutive failures, for the backoff
}

func (s *watchState) fileChanged(ctx context.Context, path string) {
	p := s.w.Manager.Paths
	switch filepath.Clean(path) {
	case filepath.Clean(p.CredentialsFile):
		s.reload(ctx, CauseCredentials)
	case filepath.Clean(p.TokenFile), s.w.Manager.resolvedTokenFile():
		if s.failures > 0 && !s.next.IsZero() {
			// Backing off after a failed renewal, whose save (a refresh token
			// rotated beside an access token of no known expiry, or beside the
			// one kept when the answer had none that could be used) changed
			// the file too: a new token another process saved is taken up,
			// but a renewal waits for the timer, or every save would start
			// the next at once.
			if tok, err := s.w.Manager.Load(); err != nil || !s.w.Manager.stillValid(tok) || tok.AccessToken == s.current {
				return
			}
		}
		s.check(ctx, CauseTokenFile, Options{})
	}
}

// reload reads credentials.json again, then checks the token with them.
func (s *watchState) reload(ctx context.Context, cause string) {
	if err := s.w.Manager.ReloadCredentials(); err != nil {
		s.failed(cause, err, nil)
		return
	}
	s.check(ctx, cause, Options{})
}

// check runs the lifecycle once and sets the timer from its outcome.
func (s *watchState) check(ctx context.Context, cause string, o Options) {
	m := s.w.Manager
	r, err := m.Ensure(context.WithoutCancel(ctx), o)
	if err != nil {
		s.failed(cause, err, r)
		return
	}
	now := m.now()
	if !m.stillValid(r.Token) {
		s.failed(cause, &Error{Kind: KindTemporary,
			Msg:  fmt.Sprintf("the token endpoint issued an access token that is already expired or has no expiry (expires_at %q)", r.Token.Expiry.Format(time.RFC3339)),
			Hint: "check the clocks of this host and the server, and what the endpoint sends as expires_in"}, r)
		return
	}
	changed := r.Token.AccessToken != s.current
	if r.Action == ActionKept { // renewal failed for now; the stored token still serves
		s.failures++
		s.setTimer(now, s.backoff())
	} else {
		s.failures = 0
		if changed || s.renewAt.IsZero() {
			s.current, s.renewAt = r.Token.AccessToken, s.w.renewAt(r.Token)
		}
		s.setTimer(now, max(s.renewAt.Sub(now), minRenewGap))
	}
	s.notify(WatchEvent{Cause: cause, Result: r, Changed: changed, Next: s.next})
}

// failed handles an error: back off and retry, or, when only a human can fix it,
// stop the timer and wait for a file to change.
func (s *watchState) failed(cause string, err error, r *Result) {
	s.failures++
	if waitsForHuman(err) {
		s.timer.Stop()
		s.renewAt, s.next = time.Time{}, time.Time{}
	} else {
		s.setTimer(s.w.Manager.now(), s.backoff())
	}
	ev := WatchEvent{Cause: cause, Err: err, Next: s.next}
	if r != nil && len(r.Warnings) > 0 {
		ev.Result = &Result{Warnings: r.Warnings}
	}
	s.notify(ev)
}

func (s *watchState) setTimer(now time.Time, d time.Duration) {
	s.timer.Reset(d)
	s.next = now.Add(d)
}

func (s *watchState) notify(ev WatchEvent) {
	if s.w.Notify != nil {
		s.w.Notify(ev)
	}
}

// backoff is the wait after the s.failures-th consecutive failure: exponential,
// capped, with "equal jitter" so that watchers failing together do not return
// together.
func (s *watchState) backoff() time.Duration {
	lo := orDefault(s.w.MinBackoff, DefaultMinBackoff)
	hi := orDefault(s.w.MaxBackoff, DefaultMaxBackoff)
	d := lo << min(max(s.failures-1, 0), 20)
	if d > hi || d <= 0 {
		d = hi
	}
	return d/2 + rand.N(d/2+1)
}

// renewAt is when the Watcher renews tok: a little before Valid starts refusing it
// (Token.RenewAt: the margin, capped at half the lifetime), by up to a tenth of
// that margin of jitter, so that many watchers do not call the endpoint together
// and callers of Manager.Token never find the token due.
func (w *Watcher) renewAt(tok *Token) time.Time {
	at := tok.RenewAt(w.Manager.margin())
	return at.Add(-rand.N(tok.Expiry.Sub(at)/10 + 1))
}

// waitsForHuman tells the failures that retrying cannot fix.
func waitsForHuman(err error) bool {
	var syn *credentials.SyntaxError
	var inv *credentials.InvalidError
	return errors.Is(err, ErrNeedsHuman) || errors.Is(err, ErrCredentials) ||
		errors.As(err, &syn) || errors.As(err, &inv) || errors.Is(err, fs.ErrNotExist)
}

// resolvedTokenFile is the file a symbolic link at Paths.TokenFile leads to, when
// the record is that file (the file store) and it is elsewhere; else "".
func (m *Manager) resolvedTokenFile() string {
	name := m.store().Name()
	if !filepath.IsAbs(name) || name == filepath.Clean(m.Paths.TokenFile) {
		return ""
	}
	return name
}
