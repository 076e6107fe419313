package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// profileEntry is one profile in `profiles --json`: the gist of its status.
type profileEntry struct {
	Profile          string     `json:"profile"`
	Credentials      string     `json:"credentials"` // ok, missing, invalid
	Token            string     `json:"token"`       // ok, missing, corrupt, unusable, refused
	AccessValid      bool       `json:"access_valid"`
	AccessExpiresAt  *time.Time `json:"access_expires_at,omitempty"`
	RefreshUsable    bool       `json:"refresh_usable"`
	RefreshExpiresAt *time.Time `json:"refresh_expires_at,omitempty"`
	RefreshRefusedAt *time.Time `json:"refresh_refused_at,omitempty"`
	Verdict          string     `json:"verdict"`
	ExitCode         int        `json:"exit_code"`
}

// profileStatus is a profile's status with the app copy that knows its secrets.
type profileStatus struct {
	p *app
	r *statusReport
}

// fleetStatus computes the status of every profile with n workers and hands
// them to emit in name order. It returns the fleet's exit code: the worst.
// begin, when set, is called with the names first. err is why the profiles
// could not be listed. health: as in statusOf.
func (a *app) fleetStatus(what string, n int, health bool, begin func(names []string), emit func(name string, s profileStatus)) (code int, err error) {
	_, _, names, err := a.fleetList(what)
	if err != nil {
		return 0, err
	}
	if begin != nil {
		begin(names)
	}
	now := time.Now()
	worst := exitOK
	mapOrdered(a.ctx, names, n, func(name string) profileStatus {
		p, _, err := a.forProfile(name)
		if err != nil { // names come from the directory listing: valid ones
			return profileStatus{p, &statusReport{Profile: name, Verdict: err.Error(), ExitCode: exitError}}
		}
		return profileStatus{p, p.statusOf(p.paths, now, health)}
	}, func(name string, s profileStatus) {
		worst = worse(worst, s.r.ExitCode)
		emit(name, s)
	})
	if a.ctx.Err() != nil {
		return worse(worst, exitTemp), nil
	}
	return worst, nil
}

func profilesCommand() *command {
	return &command{
		name: "profiles", args: "[options]", summary: "list the profiles under the config and state roots",
		long: `List the profiles (the sub-directories of the config and state roots) with
the state of each: what the next run will do, and when the access and refresh
tokens expire. No request is sent. Exits with the worst profile's code.`,
		example: `tokenkeeper profiles
tokenkeeper --config-dir /etc/tokenkeeper profiles --json`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			o := &listOpts{}
			o.register(fs, "")
			return func(a *app, args []string) int { return a.exit(a.cmdProfiles(o)) }
		},
	}
}

// cmdProfiles lists the profiles, one line each: expiries and verdict.
func (a *app) cmdProfiles(o *listOpts) error {
	asJSON, concurrency := &o.json, &o.fleet.concurrency
	if err := o.fleet.check(); err != nil {
		return err
	}
	now := time.Now()
	arr := &jsonArray{w: a.stdout}
	width := len("PROFILE")
	header := func(names []string) {
		for _, n := range names {
			width = max(width, len(n))
		}
		if !*asJSON {
			fmt.Fprintf(a.stdout, "%-*s  %-26s  %-22s  %s\n", width, "PROFILE", "ACCESS TOKEN", "REFRESH TOKEN", "VERDICT")
		}
	}
	code, err := a.fleetStatus("profiles", *concurrency, true, header, func(name string, s profileStatus) {
		if *asJSON {
			arr.add(entryOf(s.r))
			return
		}
		// Fixed widths rather than a tabwriter, which would hold every line.
		fmt.Fprintf(a.stdout, "%-*s  %-26s  %-22s  %s\n", width, name, accessColumn(s.r, now), refreshColumn(s.r, now), verdictLine(s))
	})
	if err != nil { // on stderr before the empty list on stdout
		code = a.exit(err)
	}
	if *asJSON {
		arr.close()
	}
	if err != nil || a.ctx.Err() != nil {
		return exitStatus(code)
	}
	return nil // a listing: the verdicts are in it; status --all exits by them
}

// statusAll is `status --all`: every profile's status, in name order, then a
// count by verdict on stderr; the exit code is the worst profile's.
func (a *app) statusAll(asJSON bool, n int) error {
	arr := &jsonArray{w: a.stdout}
	now := time.Now()
	counts := map[int]int{}
	total := 0
	code, err := a.fleetStatus("status --all", n, true, nil, func(name string, s profileStatus) {
		counts[s.r.ExitCode]++
		total++
		if asJSON {
			arr.add(s.r)
			return
		}
		if total > 1 {
			fmt.Fprintln(a.stdout)
		}
		s.p.printStatus(a.stdout, s.r, now)
	})
	if err != nil {
		return err
	}
	if asJSON {
		arr.close()
	}
	line := fmt.Sprintf("status --all: %d profiles: %d ok", total, counts[exitOK])
	for _, c := range []int{exitNeedsHuman, exitConfig, exitError} {
		if counts[c] > 0 {
			line += fmt.Sprintf(", %d %s (%d)", counts[c], exitMeaning(c), c)
		}
	}
	a.info("%s", line)
	return exitWith(code)
}

// verdictLine is a profile's verdict on its one line of the listing: a
// verdict of several lines (every missing field of credentials.json) is cut
// to its first, and the rest is left to status, which the line names.
func verdictLine(s profileStatus) string {
	v := s.p.redact(s.r.Verdict)
	first, _, cut := strings.Cut(strings.ReplaceAll(v, "\r", "\n"), "\n")
	if !cut {
		return v
	}
	return strings.TrimRight(first, " :;") + "; details: " + s.p.cmdLine("status")
}

func entryOf(r *statusReport) profileEntry {
	return profileEntry{
		Profile: r.Profile, Credentials: r.Credentials.State, Token: r.Token.State,
		AccessValid: r.Token.AccessValid, AccessExpiresAt: r.Token.AccessExpiresAt,
		RefreshUsable: r.Token.RefreshUsable, RefreshExpiresAt: r.Token.RefreshExpiresAt, RefreshRefusedAt: r.Token.RefreshRefusedAt,
		Verdict: r.Verdict, ExitCode: r.ExitCode,
	}
}

func accessColumn(r *statusReport, now time.Time) string {
	switch {
	case r.Token.State != "ok" && r.Token.RefreshRefusedAt == nil:
		return r.Token.State
	case r.Token.AccessExpiresAt == nil:
		return "unknown expiry"
	case r.Token.AccessValid:
		return "valid, expires " + refresh.Until(now, *r.Token.AccessExpiresAt)
	}
	return "expired " + refresh.Until(now, *r.Token.AccessExpiresAt)
}

func refreshColumn(r *statusReport, now time.Time) string {
	switch {
	case r.Token.RefreshRefusedAt != nil:
		return "refused " + refresh.Until(now, *r.Token.RefreshRefusedAt)
	case r.Token.State != "ok":
		return r.Token.State
	case r.Token.RefreshToken == "":
		return "none"
	case r.Token.RefreshExpiresAt == nil:
		return "no expiry advertised"
	case r.Token.RefreshUsable:
		return "expires " + refresh.Until(now, *r.Token.RefreshExpiresAt)
	}
	return "expired " + refresh.Until(now, *r.Token.RefreshExpiresAt)
}

// jsonArray writes a JSON array one element at a time, so that a listing of
// any length is never held whole in memory.
type jsonArray struct {
	w io.Writer
	n int
}

func (j *jsonArray) add(v any) {
	b, err := json.MarshalIndent(v, "  ", "  ")
	if err != nil {
		b = []byte(fmt.Sprintf("{%q: %q}", "error", err.Error()))
	}
	sep := ",\n  "
	if j.n == 0 {
		sep = "[\n  "
	}
	j.n++
	fmt.Fprintf(j.w, "%s%s", sep, b)
}

func (j *jsonArray) close() {
	if j.n == 0 {
		fmt.Fprint(j.w, "[]\n")
		return
	}
	fmt.Fprint(j.w, "\n]\n")
}
