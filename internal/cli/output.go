package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Messages go to stderr as "tokenkeeper: …" (age's style), lower case, no trailing
// period, with "tokenkeeper: hint: …" lines that say what to do. With
// --log-format json they are slog records instead. Every line passes through
// redact: no secret the process knows ever reaches the terminal or a log.

func (a *app) addSecrets(s ...string) {
	for _, v := range s {
		if len(v) >= 4 && !slices.Contains(a.secrets, v) {
			a.secrets = append(a.secrets, v)
		}
	}
	// Longest first: a secret that contains another must be redacted whole, not
	// around the shorter one.
	slices.SortStableFunc(a.secrets, func(x, y string) int { return len(y) - len(x) })
}

func (a *app) redact(s string) string {
	for _, v := range a.secrets {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return s
}

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

func (a *app) warnAll(warns []string) {
	for _, w := range warns {
		a.warn(w)
	}
}

func (a *app) usageError(msg, hint string) int {
	a.message("error", msg, hint)
	return exitUsage
}

// fail reports err with its hint and returns the exit code that tells a cron
// wrapper what to do: retry (75), re-authorise (77) or fix credentials (78).
func (a *app) fail(err error) int {
	code, hint := classify(err)
	if a.onFail != nil {
		a.onFail(code, hint)
	}
	a.message("error", strings.TrimPrefix(err.Error(), "tokenkeeper: "), hint)
	return code
}

func classify(err error) (int, string) {
	var syn *credentials.SyntaxError
	var inv *credentials.InvalidError
	var rec *storage.RecordError
	switch {
	case errors.As(err, &rec) && refresh.KindOf(err) == refresh.KindUnexpected:
		// credentials.json that is no regular file; the lifecycle gives the token
		// file's its kind (78) itself.
		return exitConfig, rec.Hint
	case errors.As(err, &syn) && syn.Line == 0:
		return exitConfig, "fill the file in, or delete it and run tokenkeeper init for a template"
	case errors.As(err, &syn):
		if syn.Hint != "" {
			return exitConfig, fmt.Sprintf("%s (line %d, column %d of %s); tokenkeeper never overwrites a file it cannot read", syn.Hint, syn.Line, syn.Col, syn.Path)
		}
		return exitConfig, fmt.Sprintf("fix the JSON at line %d, column %d of %s; tokenkeeper never overwrites a file it cannot read", syn.Line, syn.Col, syn.Path)
	case errors.As(err, &inv):
		return exitConfig, fmt.Sprintf("edit %s and fill in or correct the fields above", inv.Path)
	case errors.Is(err, credentials.ErrEmpty):
		return exitConfig, "fill the file in, or delete it and run tokenkeeper init for a template"
	case errors.Is(err, fs.ErrNotExist) && strings.Contains(err.Error(), "credentials"):
		return exitConfig, "run tokenkeeper init (or tokenkeeper setup) and fill in the file"
	}
	switch refresh.KindOf(err) {
	case refresh.KindTemporary:
		return exitTemp, refresh.HintOf(err)
	case refresh.KindNeedsHuman:
		return exitNeedsHuman, refresh.HintOf(err)
	case refresh.KindCredentials:
		return exitConfig, refresh.HintOf(err)
	}
	return exitError, refresh.HintOf(err)
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
