package cli

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// Messages go to stderr as "tokenkeeper: …" (age's style), lower case, no trailing
// period, with "tokenkeeper: hint: …" lines that say what to do. With
// --log-format json they are slog records instead. Every line passes through
// redact: no secret the process knows ever reaches the terminal or a log.

// addSecrets learns secrets to redact, in every encoding internal/redact
// knows (form-encoded, JSON-escaped), longest first.
func (a *app) addSecrets(s ...string) {
	if a.secrets == nil {
		a.secrets = &secretList{}
	}
	a.secrets.add(s...)
}

// secretList is what an app hides: the values as learnt, and their encodings
// (redact.Add), worked out only when something is first redacted. A run that
// prints nothing but a token (tokenkeeper token, docs/performance.md) never
// needs them.
type secretList struct {
	mu      sync.Mutex
	pending []string // learnt, not yet in forms
	forms   []string // redact.Add's list
}

func (l *secretList) add(s ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, s...)
}

// list returns redact.Add's list of every value learnt so far. The slice is
// never changed afterwards: a later list builds a new one.
func (l *secretList) list() []string {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		l.forms = redact.Add(slices.Clone(l.forms), l.pending...)
		l.pending = nil
	}
	return l.forms
}

// clone is a list of its own with the same values, for a copy of the app.
func (l *secretList) clone() *secretList {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return &secretList{pending: slices.Clone(l.pending), forms: l.forms}
}

// addCredentials learns the secrets of c: its secret fields (the field table
// says which), and the HTTP Basic value that authStyle header sends, made of
// appID and clientSecret.
func (a *app) addCredentials(c *credentials.Credentials) {
	a.addSecrets(c.Secrets()...)
	a.addSecrets(redact.Basic(c.AppID, c.ClientSecret)...)
}

// redact makes s fit to be shown: every known secret hidden (a secret shorter
// than redact.MinAnywhere only where it stands as a whole token, so that a short
// one does not cut into flag names: "prof" in "--profile"), then every control
// character escaped (redact.Terminal), whatever the text's source. Every line
// tokenkeeper prints, logs or answers in serve's errors passes through it.
func (a *app) redact(s string) string { return redact.Terminal(redact.Text(s, a.secrets.list())) }

func (a *app) message(level, msg string, hints ...string) {
	l := slog.LevelWarn
	switch level {
	case "error":
		l = slog.LevelError
	case "info":
		l = slog.LevelInfo
	}
	a.record(l, "", msg, hints)
}

// record writes one message: "tokenkeeper: [profile: ][warning: ]…" lines and
// "tokenkeeper: hint: …" lines in text, or one slog record (with the hints and
// attrs as attributes) with --log-format json. Every string is redacted.
func (a *app) record(level slog.Level, profile, msg string, hints []string, attrs ...any) {
	msg = a.redact(msg)
	if a.g.logFormat == "json" && a.log != nil {
		if profile != "" {
			attrs = append(attrs, "profile", profile)
		}
		for _, h := range hints {
			if h != "" {
				attrs = append(attrs, "hint", a.redact(h))
			}
		}
		a.log.Log(context.Background(), level, msg, attrs...)
		return
	}
	prefix := "tokenkeeper: "
	if profile != "" {
		prefix += profile + ": "
	}
	if level == slog.LevelWarn {
		prefix += "warning: "
	}
	for _, line := range strings.Split(msg, "\n") {
		fmt.Fprintf(a.stderr, "%s%s\n", prefix, line)
	}
	for _, h := range hints {
		if h != "" {
			fmt.Fprintf(a.stderr, "tokenkeeper: hint: %s\n", a.redact(h))
		}
	}
}

func (a *app) info(format string, args ...any)  { a.message("info", fmt.Sprintf(format, args...)) }
func (a *app) warn(msg string, hints ...string) { a.message("warning", msg, hints...) }

// warnAll shows a run's warnings; then (refresh.Result.Next) is what a person
// does about the last of them, which is the refresh token's.
func (a *app) warnAll(warns []string, then refresh.NextStep) {
	for i, w := range warns {
		if hint := a.nextHint(then); hint != "" && i == len(warns)-1 {
			a.warn(w, "before then: "+hint)
			continue
		}
		a.warn(w)
	}
}

// warnResult prints a run's warnings; the last one about a remembered
// refusal (refresh.Result.Retry) names the command that asks once more.
func (a *app) warnResult(r *refresh.Result) {
	if !r.Retry {
		a.warnAll(r.Warnings, r.Next)
		return
	}
	last := len(r.Warnings) - 1
	a.warnAll(r.Warnings[:last], refresh.NextNone)
	a.warn(r.Warnings[last], a.retryHint(r.Next, ""))
}

func (a *app) usageError(msg, hint string) int { return a.exit(usageErr(msg, hint)) }

// detail is a library error as its package words it for a place that
// already says what it is about (its Detail, without "credentials: " or
// "refresh: " before it), else its Error: the CLI never cuts a library's
// text itself. Only err's own Detail counts: a wrapper's words are kept.
func detail(err error) string {
	if d, ok := err.(interface{ Detail() string }); ok {
		return d.Detail()
	}
	return err.Error()
}

// fail reports err with its hint and returns the exit code that tells a cron
// wrapper what to do: retry (75), re-authorise (77) or fix credentials (78).
func (a *app) fail(err error) int {
	code, hint := a.exitOf(err)
	if a.onFail != nil {
		a.onFail(code, hint)
	}
	a.message("error", err.Error(), hint)
	return code
}

// recoverPanic turns a panic into exit 1 with a redacted message: a bug must not
// print a secret the process holds. The stack shows functions and addresses only,
// never string contents, and is what a bug report needs.
func (a *app) recoverPanic(code *int) {
	p := recover()
	if p == nil {
		return
	}
	a.message("error", fmt.Sprintf("internal error: %v", p),
		"this is a bug in tokenkeeper; please report it with the lines below (they hold no secrets)")
	fmt.Fprintf(a.stderr, "%s", debug.Stack())
	*code = exitError
}
