package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// Bounds on what `refresh --all` keeps and prints, so that its memory and its
// output stay the same size for 100 profiles or 100,000.
const (
	maxDetailed   = 50 // failures and warnings printed in full
	maxGroups     = 20 // distinct (exit code, hint) groups in the summary
	maxGroupNames = 10 // profile names listed per group
)

// fleetTally is what `refresh --all` remembers: counters, and failures grouped
// by exit code and hint.
type fleetTally struct {
	mu                            sync.Mutex
	renewed, valid, kept, failed  int
	worst                         int
	groups                        []*failGroup
	detailed, warned, warnedLater int
	statusAll                     string // the status --all command line, for hints
}

type failGroup struct {
	code  int
	hint  string
	count int
	names []string
}

// profileOutcome is one profile's run: its action or exit code, what it printed,
// and the hint of its failure.
type profileOutcome struct {
	name, action, hint string
	code               int
	out                []byte
}

func (a *app) refreshAll(o refresh.Options, quiet bool, n int) error {
	configRoot, stateRoot, names, err := a.fleetList("refresh --all")
	if err != nil || len(names) == 0 {
		return err
	}
	httpc := refresh.NewHTTPClient(n)
	defer httpc.CloseIdleConnections()
	t := &fleetTally{statusAll: a.cmdLine("status --all")}
	bar := newProgress(a, len(names))
	start := time.Now()
	started := forEach(a.ctx, names, n, func(name string) {
		out := a.refreshProfile(name, o, httpc)
		bar.print(t.add(out, configRoot, stateRoot))
		bar.step(t.note())
	})
	bar.finish()
	return exitWith(a.refreshSummary(t, len(names), started, time.Since(start), quiet))
}

// refreshProfile runs the lifecycle of one profile exactly as `refresh` does,
// except that a missing credentials.json is reported, not created: --all only
// works on profiles that exist.
func (a *app) refreshProfile(name string, o refresh.Options, httpc *http.Client) profileOutcome {
	out := profileOutcome{name: name}
	p, buf, err := a.forProfile(name)
	p.onFail = func(code int, hint string) { out.hint = hint }
	if err == nil {
		var m *refresh.Manager
		if m, err = p.manager("tokenkeeper refresh --all", true, false); err == nil {
			m.Client.HTTP = httpc
			var r *refresh.Result
			if r, err = p.ensure(m, o); err == nil {
				out.action = r.Action
			}
		}
	}
	out.code = p.exit(err)
	out.out = buf.Bytes()
	// Paths in a hint name the profile's own directories; the group's hint
	// names them with a placeholder, to be the same for every profile.
	out.hint = strings.NewReplacer(p.paths.ConfigDir, filepath.Join(filepath.Dir(p.paths.ConfigDir), "<profile>"),
		p.paths.StateDir, filepath.Join(filepath.Dir(p.paths.StateDir), "<profile>"),
		"--profile "+shellQuote(name)+" ", "--profile <profile> ").Replace(out.hint)
	return out
}

// add counts one outcome and returns what to print now: the profile's messages,
// prefixed with its name, for the first maxDetailed failures and warnings.
func (t *fleetTally) add(o profileOutcome, configRoot, stateRoot string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch o.action {
	case refresh.ActionRefreshed, refresh.ActionBootstrapped:
		t.renewed++
	case refresh.ActionValid:
		t.valid++
	case refresh.ActionKept:
		t.kept++
	}
	if o.code != exitOK {
		t.failed++
		t.worst = worse(t.worst, o.code)
		t.group(o)
	}
	if len(o.out) == 0 {
		return ""
	}
	if o.code == exitOK && t.warned >= maxDetailed {
		t.warnedLater++
		return ""
	}
	if o.code != exitOK && t.detailed >= maxDetailed {
		return ""
	}
	if o.code == exitOK {
		t.warned++
	} else {
		t.detailed++
	}
	return prefixLines(o.out, o.name)
}

// group adds a failure to its group; past maxGroups kinds, new kinds go to one
// group per exit code.
func (t *fleetTally) group(o profileOutcome) {
	hint := o.hint
	if t.findGroup(o.code, hint) == nil && len(t.groups) >= maxGroups {
		hint = overflowHint + t.statusAll
	}
	g := t.findGroup(o.code, hint)
	if g == nil {
		g = &failGroup{code: o.code, hint: hint}
		t.groups = append(t.groups, g)
	}
	g.count++
	if len(g.names) < maxGroupNames {
		g.names = append(g.names, o.name)
	}
}

// overflowHint ends with the command to run, which names the user's flags.
const overflowHint = "failures of more kinds than the summary has room for; run "

func (t *fleetTally) findGroup(code int, hint string) *failGroup {
	for _, g := range t.groups {
		if g.code == code && g.hint == hint {
			return g
		}
	}
	return nil
}

func (t *fleetTally) note() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%d renewed, %d valid, %d failed", t.renewed, t.valid+t.kept, t.failed)
}

// prefixLines puts the profile's name after "tokenkeeper: " on each message
// line; hint lines and slog's JSON records (which carry it already) are left.
func prefixLines(out []byte, name string) string {
	var b strings.Builder
	for _, line := range bytes.SplitAfter(out, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("tokenkeeper: "))
		if ok && !bytes.HasPrefix(rest, []byte("hint: ")) {
			b.WriteString("tokenkeeper: " + name + ": ")
			b.Write(rest)
			continue
		}
		b.Write(line)
	}
	return b.String()
}

func (a *app) refreshSummary(t *fleetTally, total, started int, took time.Duration, quiet bool) int {
	code := t.worst
	if started < total {
		code = worse(code, exitTemp)
		a.message("error", fmt.Sprintf("refresh --all: interrupted; %d of %d profiles not attempted", total-started, total),
			"run "+a.cmdLine("refresh --all")+" again: profiles whose token is valid are skipped quickly")
	}
	if t.detailed < t.failed {
		a.info("%d more failures not shown; run %s for every profile", t.failed-t.detailed, a.cmdLine("status --all"))
	}
	if t.warnedLater > 0 {
		a.info("%d more profiles had warnings; run %s for every profile", t.warnedLater, a.cmdLine("status --all"))
	}
	if quiet && code == exitOK && t.warned == 0 {
		return code
	}
	line := fmt.Sprintf("refresh --all: %d profiles in %s: %d renewed, %d still valid", started, took.Round(time.Millisecond), t.renewed, t.valid)
	if t.kept > 0 {
		line += fmt.Sprintf(", %d kept (renewal failed, token still valid)", t.kept)
	}
	a.info("%s, %d failed", line, t.failed)
	sort.SliceStable(t.groups, func(i, j int) bool { return worse(t.groups[i].code, t.groups[j].code) != t.groups[j].code })
	for _, g := range t.groups {
		sort.Strings(g.names)
		names := strings.Join(g.names, ", ")
		if g.count > len(g.names) {
			names += fmt.Sprintf(" and %d more", g.count-len(g.names))
		}
		hint := g.hint
		if g.count == 1 { // one profile: its own name, a hint to paste as it is
			hint = strings.ReplaceAll(hint, "<profile>", g.names[0])
		}
		a.message("error", fmt.Sprintf("%d failed with exit %d (%s): %s", g.count, g.code, exitMeaning(g.code), names), hint)
	}
	return code
}
