package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/spf13/pflag"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// A fleet is every profile under the config and state roots, walked with bounded
// concurrency by `refresh --all`, `status --all` and `profiles`. Each profile runs
// through the same code as a single-profile command, in its own copy of the app
// (paths, secrets and messages are per profile). Memory does not grow with the
// number of profiles: only their names are listed up front; results are streamed
// and reduced to counters, and failure details are printed, not kept.

// defaultConcurrency is how many profiles are worked on at once. A renewal waits
// on the network and on fsync, not on the CPU, so more workers than cores pay
// off; on a loopback endpoint throughput stops growing at about 8 on 2 cores
// (BENCHMARKS.md), and a real endpoint's latency favours more.
func defaultConcurrency() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// maxConcurrency bounds --concurrency: each worker holds a file descriptor or
// two and perhaps a connection.
const maxConcurrency = 256

// fleetOpts are --all and --concurrency, which refresh, status and profiles share.
type fleetOpts struct {
	all         bool
	concurrency int
	given       *pflag.Flag // --concurrency, to know whether it was given
}

func (o *fleetOpts) register(fs *pflag.FlagSet, all string) {
	if all != "" {
		fs.BoolVar(&o.all, "all", false, all)
	}
	// The default depends on the machine, so help (and the man page) names the
	// rule, and fleetOpts.check applies it.
	fs.IntVar(&o.concurrency, "concurrency", 0, fmt.Sprintf("profiles worked on at once, 1 to %d (default 4 per CPU, at least 8)", maxConcurrency))
	o.given = fs.Lookup("concurrency")
}

// check checks --concurrency, and sets the default when it was not given.
func (o *fleetOpts) check() error {
	if !o.given.Changed {
		o.concurrency = defaultConcurrency()
	}
	if n := o.concurrency; n < 1 || n > maxConcurrency {
		return usageErr(fmt.Sprintf("--concurrency %d: want 1 to %d", n, maxConcurrency), "leave it out for the default")
	}
	return nil
}

// fleetRoots returns the roots that hold one directory per profile, or a usage
// error when --dir makes a single profile of one directory.
func (a *app) fleetRoots(what string) (configRoot, stateRoot string, err error) {
	if a.g.dir != "" {
		fix := "drop --dir and use --config-dir and --state-dir, whose sub-directories are the profiles"
		if !a.flagGiven("dir") { // a --config-dir or --state-dir would win over it
			fix = "unset TOKENKEEPER_DIR, or give --config-dir and --state-dir, whose sub-directories are the profiles"
		}
		return "", "", usageErr(fmt.Sprintf("%s: --dir %s holds a single profile (from %s), not a set of profiles", what, a.g.dir, a.g.sources["dir"]), fix)
	}
	if src := a.g.sources["profile"]; src == "--profile flag" {
		// profiles has no --all to drop: its one-profile form is status.
		alone := "run " + a.cmdLine("status") + " for that profile alone"
		if cmd, ok := strings.CutSuffix(what, " --all"); ok {
			alone = "run " + a.cmdLine(cmd) + " to work on that profile alone"
		}
		return "", "", usageErr(what+": --profile picks one profile; this works on all of them",
			"drop --profile, or "+alone)
	}
	return filepath.Dir(a.paths.ConfigDir), filepath.Dir(a.paths.StateDir), nil
}

// fleetList lists the profiles for what (refresh --all, status --all,
// profiles): the roots and the names, warning when there are none.
func (a *app) fleetList(what string) (configRoot, stateRoot string, names []string, err error) {
	if configRoot, stateRoot, err = a.fleetRoots(what); err != nil {
		return "", "", nil, err
	}
	if names, err = a.fleetNames(configRoot, stateRoot); err != nil {
		return "", "", nil, err
	}
	if len(names) == 0 {
		a.warn(fmt.Sprintf("no profiles in %s or %s", configRoot, stateRoot),
			"a profile is a sub-directory: "+a.initLine(configRoot))
	}
	return configRoot, stateRoot, names, nil
}

// initLine is the command that creates a profile NAME under configRoot: the
// user's --config-dir is in a.cmdLine already, and is not given twice.
func (a *app) initLine(configRoot string) string {
	if a.flagGiven("config-dir") {
		return a.cmdLine("--profile NAME init")
	}
	return a.cmdLine("--config-dir " + shellQuote(configRoot) + " --profile NAME init")
}

// fleetNames is the sorted union of the profile directories of both roots
// and, with --store, of the store's profiles (given up within --timeout).
func (a *app) fleetNames(configRoot, stateRoot string) ([]string, error) {
	names, err := localProfiles(configRoot, stateRoot)
	if err != nil {
		return nil, err
	}
	return a.storeProfiles(names, a.g.timeout)
}

// localProfiles is the sorted union of the profile directories of both roots:
// a profile may have only credentials so far, or only a token file.
func localProfiles(configRoot, stateRoot string) ([]string, error) {
	c, err := storage.ListProfiles(configRoot)
	if err != nil {
		return nil, err
	}
	if stateRoot != configRoot {
		s, err := storage.ListProfiles(stateRoot)
		if err != nil {
			return nil, err
		}
		c = mergeSorted(c, s)
	}
	return c, nil
}

func mergeSorted(a, b []string) []string {
	out := make([]string, 0, max(len(a), len(b)))
	for len(a) > 0 || len(b) > 0 {
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0] < b[0]):
			out, a = append(out, a[0]), a[1:]
		case len(a) == 0 || b[0] < a[0]:
			out, b = append(out, b[0]), b[1:]
		default:
			out, a, b = append(out, a[0]), a[1:], b[1:]
		}
	}
	return out
}

// otherProfile is a copy of the app whose hints name profile name, as if
// the user had given --profile NAME.
func (a *app) otherProfile(name string) *app {
	o := *a
	o.g.profile = name
	o.g.sources = maps.Clone(a.g.sources)
	if o.g.sources == nil {
		o.g.sources = map[string]string{}
	}
	o.g.sources["profile"] = "--profile flag"
	return &o
}

// forProfile is a copy of the app for one profile: its own paths, its own
// secrets to redact, and its messages in a buffer of its own, so that workers
// never interleave lines on the terminal.
func (a *app) forProfile(name string) (*app, *bytes.Buffer, error) {
	p := *a.otherProfile(name)
	p.listed = true
	p.secrets = a.secrets.clone()
	buf := &bytes.Buffer{}
	p.stderr, p.stdout = buf, io.Discard
	p.log = newLogger(buf, p.g.logFormat, p.g.verbose).With("profile", name)
	var err error
	p.paths, err = storage.Resolve(storage.Options{
		Profile: name, ConfigDir: a.g.configDir, StateDir: a.g.stateDir,
	}, map[string]string{"config-dir": a.g.sources["config-dir"], "state-dir": a.g.sources["state-dir"]})
	return &p, buf, err
}

// forEach calls fn for every name with n workers, in no particular order. It
// stops handing out names when ctx ends and returns how many were handed out.
func forEach(ctx context.Context, names []string, n int, fn func(name string)) int {
	jobs := make(chan string)
	var wg sync.WaitGroup
	for range min(n, len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range jobs {
				fn(name)
			}
		}()
	}
	started := 0
feed:
	for _, name := range names {
		select {
		case jobs <- name:
			started++
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return started
}

// mapOrdered calls fn for every name with n workers and emit with the results
// in the order of names. At most 2n results wait to be emitted, whatever the
// number of names. It stops handing out names when ctx ends.
func mapOrdered[T any](ctx context.Context, names []string, n int, fn func(name string) T, emit func(name string, v T)) {
	type job struct {
		name string
		out  chan T
	}
	jobs := make(chan job, n)
	order := make(chan job, n)
	go func() {
		defer close(order)
		defer close(jobs)
		for _, name := range names {
			j := job{name, make(chan T, 1)}
			select {
			case order <- j:
			case <-ctx.Done():
				return
			}
			jobs <- j
		}
	}()
	var wg sync.WaitGroup
	for range min(n, len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.out <- fn(j.name)
			}
		}()
	}
	for j := range order {
		emit(j.name, <-j.out)
	}
	wg.Wait()
}
