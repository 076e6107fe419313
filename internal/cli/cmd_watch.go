package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// cmdWatch stays running and keeps the token renewed (refresh.Watcher): SIGINT and
// SIGTERM end it with exit 0 (main cancels a.ctx), SIGHUP reloads credentials.json
// and, with --all, the list of profiles.
func watchCommand() *command {
	return &command{
		name: "watch", args: "[options]", summary: "stay running and renew shortly before expiry",
		long: `Stay running and renew the access token shortly before it expires (a timer,
no polling); reload credentials.json when it changes and pick up token files
written by other processes. SIGINT and SIGTERM stop it cleanly (exit 0),
finishing a renewal under way; SIGHUP reloads credentials.json (with --all,
the list of profiles too). On Windows, Ctrl-C and Ctrl-Break stop it, and as a
service so does Stop, while ParamChange (sc.exe control NAME paramchange) is its
SIGHUP.`,
		example: `tokenkeeper watch
tokenkeeper --config-dir /etc/tokenkeeper watch --all --log-format json
tokenkeeper --config-dir /etc/tokenkeeper watch --all --metrics 9464`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			o := &watchOpts{}
			fs.BoolVar(&o.all, "all", false, "every profile under the config root")
			fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at http://`ADDR`/metrics: PORT or HOST:PORT, on loopback unless --metrics-remote")
			fs.BoolVar(&o.remote, "metrics-remote", false, "allow a --metrics address other hosts can reach")
			return func(a *app, args []string) int { return a.cmdWatch(o) }
		},
	}
}

type watchOpts struct {
	all     bool
	metrics string // --metrics ADDR
	remote  bool   // --metrics-remote
}

func (a *app) cmdWatch(o *watchOpts) int {
	a.ctx.Done() // SIGINT/SIGTERM handled from now on, before the first log line
	var listen string
	var remote bool // the address reaches other hosts: no loopback Host check
	if o.metrics != "" || o.remote {
		addr, r, err := metricsAddr(o.metrics, o.remote)
		remote = r
		if o.metrics == "" {
			err = errors.New("--metrics-remote: only with --metrics ADDR")
		}
		if err != nil {
			return a.usageError(err.Error(), "serve on loopback with --metrics 127.0.0.1:PORT; for other hosts add --metrics-remote")
		}
		if remote {
			a.warn(fmt.Sprintf("--metrics %s: other hosts can read the metrics (the profiles' names, their grants' states and expiries; never a token)", addr),
				"allow only the Prometheus server to connect (a firewall), or serve on loopback behind a proxy that authenticates")
		}
		listen = addr
	}
	hup := make(chan os.Signal, 1)
	defer notifyReload(hup)()
	a.stderr = &lockedWriter{w: a.stderr}
	a.log = slog.New(redactHandler{newLogger(a.stderr, a.g.logFormat, a.g.verbose).Handler(), a.redact})
	var m *watchMetrics
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			a.message("error", fmt.Sprintf("--metrics: %v", err), "choose another port, or stop what serves on it")
			return exitError
		}
		m = newWatchMetrics()
		defer a.serveMetrics(ln, m, remote)()
		a.watchLog(slog.LevelInfo, "", "serving metrics at http://"+ln.Addr().String()+"/metrics", "", "metrics", ln.Addr().String())
	}
	if o.all {
		root, _, err := a.fleetRoots("watch --all")
		if err != nil {
			return a.exit(err)
		}
		return a.watchAll(hup, root, m)
	}
	if err := a.requireProfile(); err != nil {
		return a.fail(err)
	}
	reload := make(chan struct{}, 1)
	go fanOut(a.ctx, hup, []chan struct{}{reload})
	return a.watchProfiles(a.ctx, []storage.Paths{a.paths}, []chan struct{}{reload}, false, m)
}

// watchAll watches every profile under the config root. SIGHUP re-reads the list:
// when it changed, the watchers are stopped (each finishing a renewal under way)
// and started again for the new list; otherwise each reloads its credentials.
func (a *app) watchAll(hup <-chan os.Signal, root string, m *watchMetrics) int {
	for {
		names, err := storage.ListProfiles(root)
		if err != nil {
			return a.fail(err)
		}
		if len(names) == 0 {
			a.message("error", fmt.Sprintf("no profiles under %s", root),
				"create one with "+a.cmdLine("--profile NAME init")+", or choose the root with --config-dir")
			return exitConfig
		}
		paths, code := a.profilePaths(names)
		if code != exitOK {
			return code
		}
		ctx, stop := context.WithCancel(a.ctx)
		reloads := make([]chan struct{}, len(paths))
		for i := range reloads {
			reloads[i] = make(chan struct{}, 1)
		}
		done := make(chan int, 1)
		go func() { done <- a.watchProfiles(ctx, paths, reloads, true, m) }()
		code, again := a.waitHUP(hup, root, names, reloads, done)
		stop()
		if !again {
			return code
		}
		<-done
	}
}

// waitHUP relays SIGHUPs to the watchers until they end (again false) or the list
// of profiles changes (again true).
func (a *app) waitHUP(hup <-chan os.Signal, root string, names []string, reloads []chan struct{}, done <-chan int) (code int, again bool) {
	for {
		select {
		case code := <-done:
			return code, false
		case <-hup:
			now, err := storage.ListProfiles(root)
			if err == nil && !slices.Equal(now, names) {
				a.watchLog(slog.LevelInfo, "", "profiles changed; restarting the watchers", "", "profiles", len(now))
				return 0, true
			}
			for _, r := range reloads {
				poke(r)
			}
		}
	}
}

func (a *app) profilePaths(names []string) ([]storage.Paths, int) {
	var out []storage.Paths
	for _, n := range names {
		saved := a.g.profile
		a.g.profile = n
		code := a.resolvePaths()
		p := a.paths
		a.g.profile = saved
		if code != exitOK {
			return nil, code
		}
		out = append(out, p)
	}
	return out, exitOK
}

// watchProfiles runs one Watcher per profile, sharing one file watch (one inotify
// instance, whatever the number of profiles), until ctx ends.
func (a *app) watchProfiles(ctx context.Context, paths []storage.Paths, reloads []chan struct{}, named bool, m *watchMetrics) int {
	var files []string
	route := map[string]chan string{}
	for _, p := range paths {
		ch := make(chan string, 4)
		for _, f := range []string{p.CredentialsFile, p.TokenFile} {
			files = append(files, f)
			route[f] = ch
		}
	}
	// Every profile's watcher before anything runs: one that cannot have its
	// store must stop watch, never renew against local files instead.
	watchers := make([]*refresh.Watcher, len(paths))
	for i, p := range paths {
		w, err := a.watcher(p, route[p.CredentialsFile], reloads[i], named, m)
		if err != nil {
			return a.fail(err)
		}
		watchers[i] = w
	}
	changes, err := storage.WatchFiles(ctx, files, 0)
	if err != nil {
		a.message("error", err.Error(), "on Linux, raise fs.inotify.max_user_instances or max_user_watches (sysctl)")
		return exitError
	}
	m.watching(paths)
	go dispatch(ctx, changes, route)
	a.watchStore(ctx, paths, route)
	var wg sync.WaitGroup
	for _, w := range watchers {
		wg.Go(func() { w.Run(ctx) })
	}
	wg.Wait()
	if a.ctx.Err() != nil { // SIGINT or SIGTERM, not a restart for a new list of profiles
		a.watchLog(slog.LevelInfo, "", "stopped by a signal; no renewal was cut short", "")
	}
	return exitOK
}

// dispatch routes each changed path to its profile's Watcher; when ctx ends it
// closes their channels, which ends them.
func dispatch(ctx context.Context, changes <-chan string, route map[string]chan string) {
	defer func() {
		closed := map[chan string]bool{}
		for _, ch := range route {
			if !closed[ch] {
				close(ch)
				closed[ch] = true
			}
		}
	}()
	for p := range changes {
		select {
		case route[p] <- p:
		case <-ctx.Done():
			return
		}
	}
}

func fanOut(ctx context.Context, in <-chan os.Signal, outs []chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-in:
			for _, o := range outs {
				poke(o)
			}
		}
	}
}

// poke sends without blocking: one pending reload is as good as several.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// watcher builds the Watcher of one profile. Its messages go through a copy of the
// app with that profile's paths and its own list of secrets to redact.
func (a *app) watcher(p storage.Paths, changes <-chan string, reload <-chan struct{}, named bool, metrics *watchMetrics) (*refresh.Watcher, error) {
	b := *a
	b.paths, b.secrets = p, a.secrets.clone()
	// The profile's log redacts with the profile's own list too: the parent's
	// never learns this Manager's tokens.
	b.log = slog.New(redactHandler{a.log.Handler(), b.redact})
	var mu sync.Mutex // LoadCredentials runs under the Manager's lock, Notify in Run: both touch b
	m := &refresh.Manager{
		Paths: p, Client: b.client(), Margin: a.g.margin, LockTimeout: a.g.lockTimeout,
		WarnBefore: a.g.warnBefore, Holder: "tokenkeeper watch", Log: b.log,
		LoadCredentials: func() (*credentials.Credentials, error) {
			mu.Lock()
			defer mu.Unlock()
			return b.loadCreds(false)
		},
		// Every token the manager reads or receives is redacted from this
		// profile's messages, as in the other commands.
		Secrets: func(v ...string) {
			mu.Lock()
			defer mu.Unlock()
			b.addSecrets(v...)
		},
	}
	store, err := b.storeFor(p)
	if err != nil {
		return nil, err
	}
	m.Store = store
	profile := ""
	if named {
		profile = p.Profile
	}
	return &refresh.Watcher{Manager: m, Changes: changes, Reload: reload,
		Notify: func(ev refresh.WatchEvent) {
			metrics.observe(p.Profile, ev, time.Now())
			mu.Lock()
			defer mu.Unlock()
			b.logWatchEvent(profile, ev)
		}}, nil
}

// lockedWriter serialises writes from the watchers of several profiles.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// logWatchEvent logs what a check did: renewals, tokens from other processes,
// failures with their hint and when the next attempt comes. A check that found
// nothing new (our own save seen on disk) is not logged.
func (a *app) logWatchEvent(profile string, ev refresh.WatchEvent) {
	now := time.Now()
	if ev.Result != nil {
		for i, w := range ev.Result.Warnings {
			hint := a.nextHint(ev.Result.Next)
			if hint == "" || i < len(ev.Result.Warnings)-1 {
				a.watchLog(slog.LevelWarn, profile, w, "")
				continue
			}
			a.watchLog(slog.LevelWarn, profile, w, "before then: "+hint)
		}
	}
	next := "waiting for " + a.paths.CredentialsFile + " to change (or SIGHUP)"
	if !ev.Next.IsZero() {
		next = "next attempt " + refresh.Until(now, ev.Next)
	}
	if ev.Err != nil {
		code, hint := a.exitOfRun(ev.Err, false) // watch tries again when the files change
		a.watchLog(slog.LevelError, profile, ev.Err.Error(), hint,
			"cause", ev.Cause, "exit_code", code, "next", next)
		return
	}
	r := ev.Result
	var what string
	switch {
	case r.Action == refresh.ActionRefreshed || r.Action == refresh.ActionBootstrapped:
		what = r.Action
	case r.Action == refresh.ActionKept:
		what = "could not renew; kept the stored access token"
	case ev.Cause == refresh.CauseStart:
		what = "watching"
	case ev.Changed:
		what = "picked up a token renewed by another process"
	case ev.Cause == refresh.CauseCredentials || ev.Cause == refresh.CauseReload:
		what = "reloaded " + a.paths.CredentialsFile
	default:
		return
	}
	if r.Action != refresh.ActionKept {
		next = "next renewal " + refresh.Until(now, ev.Next)
	}
	a.watchLog(slog.LevelInfo, profile, fmt.Sprintf("%s: access token %s; %s", what, describeExpiry(now, r.Token.Expiry, "with unknown expiry"), next), "",
		"action", r.Action, "cause", ev.Cause, "expires_at", r.Token.Expiry, "next_at", ev.Next)
}

// watchLog writes one record through app.record, with the watch's attributes;
// in text, a failure also says when the next attempt comes. Renewals are INFO
// records: with --log-format json they are logged whatever -v says.
func (a *app) watchLog(level slog.Level, profile, msg, hint string, attrs ...any) {
	a.record(level, profile, msg, []string{hint}, attrs...)
	if a.g.logFormat == "json" || level != slog.LevelError {
		return
	}
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i] == "next" {
			a.record(slog.LevelInfo, profile, fmt.Sprint(attrs[i+1]), nil)
		}
	}
}
