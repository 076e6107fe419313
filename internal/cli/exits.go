package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Exit codes, as README.md's "Exit codes" lists them. 75, 77 and 78 are sysexits.h's EX_TEMPFAIL, EX_NOPERM and
// EX_CONFIG, which cron wrappers and systemd already know.
const (
	exitOK         = 0
	exitError      = 1
	exitUsage      = 2
	exitTemp       = 75
	exitNeedsHuman = 77
	exitConfig     = 78
)

// exitRow is one exit code: what it means, and how it ranks among a fleet's
// profiles (the fleet exits with the worst). 78 ranks first: broken credentials
// also hide whether the grant behind them is alive.
type exitRow struct {
	code    int
	kind    refresh.Kind
	meaning string
	rank    int
	name    string // for clients that get no exit code (serve's "kind")
	// status is serve's HTTP status for it. What waits for a person (reauth,
	// credentials) is a 4xx, not a server error: retrying at once does not
	// help, and monitoring that pages on 5xx must not page for it.
	status int
	// state is the grant's state in the metrics (tokenkeeper_grant_state,
	// tokenkeeper_renewals_total's result): what an alert tells apart. An
	// unexpected error is "retry": watch tries again by itself.
	state string
}

// exitTable is the one place that maps a kind of failure to an exit code.
var exitTable = []exitRow{
	{exitOK, -1, "ok", 0, "ok", http.StatusOK, "ok"},
	{exitTemp, refresh.KindTemporary, "temporary failure, retry later", 1, "retry", http.StatusServiceUnavailable, "retry"},
	{exitError, refresh.KindUnexpected, "unexpected error", 2, "unexpected", http.StatusInternalServerError, "retry"},
	{exitUsage, -1, "usage", 2, "usage", http.StatusBadRequest, ""},
	{exitNeedsHuman, refresh.KindNeedsHuman, "a human must re-authorise", 3, "reauth", http.StatusForbidden, "reauth"},
	{exitConfig, refresh.KindCredentials, "credentials missing, incomplete or invalid", 4, "credentials", http.StatusForbidden, "config"},
}

func exitRowOf(code int) exitRow {
	for _, r := range exitTable {
		if r.code == code {
			return r
		}
	}
	return exitTable[2] // unexpected
}

// exitCode is the exit code of a kind of failure.
func exitCode(k refresh.Kind) int {
	for _, r := range exitTable {
		if r.kind == k {
			return r.code
		}
	}
	return exitError
}

func exitMeaning(code int) string { return exitRowOf(code).meaning }

// exitCodesText is the root help's paragraph on exit codes, from the table,
// by code, wrapped at 80 columns.
func exitCodesText() string {
	rows := slices.Clone(exitTable)
	slices.SortFunc(rows, func(a, b exitRow) int { return a.code - b.code })
	var b strings.Builder
	line := "Exit codes:"
	for i, r := range rows {
		word := fmt.Sprintf("%d %s", r.code, r.meaning)
		if i < len(rows)-1 {
			word += ";"
		} else {
			word += "."
		}
		if len(line)+1+len(word) > 80 {
			b.WriteString(line + "\n")
			line = word
			continue
		}
		line += " " + word
	}
	b.WriteString(line)
	return b.String()
}

func exitName(code int) string { return exitRowOf(code).name }

func exitHTTPStatus(code int) int { return exitRowOf(code).status }

// grantStates are the states of a grant in the metrics, from the best to
// the worst, each once.
func grantStates() []string {
	var out []string
	for _, r := range exitTable {
		if r.state != "" && !slices.Contains(out, r.state) {
			out = append(out, r.state)
		}
	}
	return out
}

// worse is the exit code of the two that asks more of a human.
func worse(a, b int) int {
	if exitRowOf(b).rank > exitRowOf(a).rank {
		return b
	}
	return a
}

// exitOf maps an error to its exit code and the hint that says what to do, with
// the command to run after, carrying the user's flags.
func (a *app) exitOf(err error) (int, string) { return a.exitOfRun(err, true) }

// exitOfRun is exitOf; without runAfter, for watch, which tries again by
// itself (on a timer after a temporary failure, when the files change after
// any other), hints neither end with the command to run once they are
// followed nor send the user to run it again later or to cron.
func (a *app) exitOfRun(err error, runAfter bool) (int, string) {
	code := exitCode(refresh.KindOf(err))
	if hint := a.credentialsHint(err, runAfter); hint != "" {
		return code, hint
	}
	then := a.nextHint(refresh.NextOf(err))
	if !runAfter {
		switch refresh.NextOf(err) {
		case refresh.NextRunAgain:
			then = ""
		case refresh.NextLater:
			then = "watch tries again by itself"
		}
	}
	if e := (*refresh.Error)(nil); errors.As(err, &e) && e.Retry {
		then = a.retryHint(e.Next, then)
	}
	return code, joinHint(refresh.HintOf(err), then)
}

// retryHint is the hint's end for a remembered refusal: after, what a person
// does once the hint is followed (nextHint's words for then), and the command
// that asks the provider once more (refresh.Options.Retry): a wrong verdict,
// or one that has passed, costs one command, never an edit of
// credentials.json. A grant only a login restarts gets both choices in one
// sentence: a new grant, or the retry.
func (a *app) retryHint(then refresh.NextStep, after string) string {
	retry := a.cmdLine("refresh --retry")
	if login, aside := a.loginHint(then); login != "" {
		return fmt.Sprintf("run %s to start a new grant%s, or %s if the provider has recovered", login, aside, retry)
	}
	return joinHint(after, "if nothing needs to change (the provider has recovered), run "+retry+" to ask once more")
}

// loginHint is the login command of NextLogin and NextLoginDevice, with the
// user's flags, and an aside on the other ways in ("" for any other NextStep).
func (a *app) loginHint(then refresh.NextStep) (login, aside string) {
	switch then {
	case refresh.NextLogin:
		if a.rerun == "login --no-browser" {
			// The person chose that way in (no browser here): login alone
			// would exit 2 on this host.
			return a.cmdLine("login --no-browser"), fmt.Sprintf(" (or %s)", a.cmdLine("login --device"))
		}
		return a.cmdLine("login"), fmt.Sprintf(" (on a host without a browser: %s, or %s)", a.cmdLine("login --device"), a.cmdLine("login --no-browser"))
	case refresh.NextLoginDevice:
		return a.cmdLine("login --device"), ""
	}
	return "", ""
}

// nextHint is what a person does once a hint is followed (refresh.NextStep), as
// the command to run with the user's flags; "" for NextNone.
func (a *app) nextHint(then refresh.NextStep) string {
	switch then {
	case refresh.NextRunAgain:
		return "then run " + a.rerunLine()
	case refresh.NextLater:
		if a.again != "" {
			return a.again
		}
		if a.rerun != "" { // a person's command: no cron job runs it
			return "run " + a.cmdLine(a.rerun) + " again later"
		}
		return "run again later (a cron job will)"
	case refresh.NextLockWait:
		return "run again shortly, or raise --lock-timeout"
	case refresh.NextLogin, refresh.NextLoginDevice:
		login, aside := a.loginHint(then)
		return "run " + login + aside
	case refresh.NextLogout:
		return "run " + a.cmdLine("logout") + " again later"
	}
	return ""
}

// rerunLine is the command that takes a fix into account (NextRunAgain): refresh,
// or the command that set a.rerun (login, logout).
func (a *app) rerunLine() string {
	if a.rerun != "" {
		return a.cmdLine(a.rerun)
	}
	return a.cmdLine("refresh")
}

func joinHint(hint, then string) string {
	switch {
	case hint == "":
		// No fix to follow: "then run …" alone reads as if one were missing.
		if rest, ok := strings.CutPrefix(then, "then "); ok {
			return "once what the error names is fixed, " + rest
		}
		return then
	case then == "":
		return hint
	}
	return hint + "; " + then
}

// credentialsHint is the hint for a credentials file that cannot be used, or "".
func (a *app) credentialsHint(err error, runAfter bool) string {
	var syn *credentials.SyntaxError
	var inv *credentials.InvalidError
	var fe *credentials.FileError
	var rec *storage.RecordError
	then := ""
	if runAfter {
		then = "; then run " + a.rerunLine()
	}
	switch {
	case errors.As(err, &syn) && syn.Line == 0:
		return "fill the file in, or delete it and run " + a.cmdLine("init") + " for a template"
	case errors.As(err, &syn):
		fix := fmt.Sprintf("fix the JSON at line %d, column %d of %s", syn.Line, syn.Col, syn.Path)
		if syn.Hint != "" {
			fix = fmt.Sprintf("%s (line %d, column %d of %s)", syn.Hint, syn.Line, syn.Col, syn.Path)
		}
		return fix + then + "; tokenkeeper never overwrites a file it cannot read"
	case errors.As(err, &inv):
		return fmt.Sprintf("edit %s and fill in or correct the fields above%s", inv.Path, then)
	case errors.As(err, &fe) && errors.As(err, &rec) && rec.Hint != "":
		return rec.Hint // not a regular file of this user: what to do with it
	case errors.As(err, &fe) && errors.Is(err, fs.ErrNotExist):
		return "run " + a.cmdLine("init") + " (or " + a.cmdLine("setup") + ") and fill in the file"
	case errors.As(err, &fe):
		return fmt.Sprintf("make %s a readable credentials file (or move it away and run %s)", fe.Path, a.cmdLine("init"))
	}
	return ""
}

// cmdError is a failure the command words itself (a usage error, a setup
// that lacks fields): its exit code, its message and its hints.
type cmdError struct {
	code  int
	msg   string
	hints []string
}

func (e *cmdError) Error() string { return e.msg }

// usageErr is a usage error (exit 2): msg, and the hint that fixes the call.
func usageErr(msg, hint string) error { return &cmdError{exitUsage, msg, []string{hint}} }

// exitStatus ends a command with this exit code, all it has to say already
// printed: a child's exit code, a template written.
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// exitWith is code as a command's error: nil for exitOK.
func exitWith(code int) error {
	if code == exitOK {
		return nil
	}
	return exitStatus(code)
}

// exit is where a command's error becomes its exit code, printed with its
// hints; nil is exitOK. An error of the lifecycle goes to fail, which asks the
// exit table.
func (a *app) exit(err error) int {
	var ce *cmdError
	var s exitStatus
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &s):
		return int(s)
	case errors.As(err, &ce):
		a.message("error", ce.msg, ce.hints...)
		return ce.code
	}
	return a.fail(err)
}
