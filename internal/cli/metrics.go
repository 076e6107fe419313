package cli

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/promtext"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// The metrics (docs/scheduling.md, "Alerts with Prometheus"): what status knows of each
// profile, from the one decision, plus, from watch, its renewals. The profile
// name is the only label of a grant; the others are fixed words (the exit
// table's states) and the version. No label carries a token, a secret, a URL
// or a user name.

// writeMetrics writes the metrics of the reports; watch adds the renewals it
// counted (nil for status).
func writeMetrics(w *promtext.Writer, reports []*statusReport, watch *watchMetrics) {
	w.Family("tokenkeeper_build_info", "gauge", "Always 1; the version of tokenkeeper in its label.")
	w.Sample("tokenkeeper_build_info", 1, "version", version())
	states := grantStates()
	if len(reports) > 0 {
		w.Family("tokenkeeper_grant_state", "gauge", "1 for the state the decision reports for the profile's grant now (the exit code status would end with), 0 for the others.")
		for _, r := range reports {
			now := exitRowOf(r.ExitCode).state
			for _, s := range states {
				w.Sample("tokenkeeper_grant_state", bool01(s == now), "profile", r.Profile, "state", s)
			}
		}
	}
	times := []struct {
		name, help string
		of         func(r *statusReport) *time.Time
	}{
		{"tokenkeeper_access_token_expiry_timestamp_seconds", "When the stored access token expires, in seconds since the epoch; absent when unknown.",
			func(r *statusReport) *time.Time { return r.Token.AccessExpiresAt }},
		{"tokenkeeper_refresh_token_expiry_timestamp_seconds", "When the stored refresh token expires, in seconds since the epoch; absent when the provider advertises none, or it was refused.",
			func(r *statusReport) *time.Time {
				if r.Token.RefreshToken == "" || r.Token.RefreshRefusedAt != nil {
					return nil
				}
				return r.Token.RefreshExpiresAt
			}},
		{"tokenkeeper_last_renewal_timestamp_seconds", "When the stored token was obtained (by any process), in seconds since the epoch.",
			func(r *statusReport) *time.Time { return r.Token.ObtainedAt }},
	}
	for _, m := range times {
		family := false
		for _, r := range reports {
			t := m.of(r)
			if t == nil || t.IsZero() {
				continue
			}
			if !family {
				w.Family(m.name, "gauge", m.help)
				family = true
			}
			w.Sample(m.name, seconds(*t), "profile", r.Profile)
		}
	}
	if len(reports) > 0 {
		w.Family("tokenkeeper_refusal_remembered", "gauge", "1 when the profile's record remembers a refusal by the provider, which the next run honours without a request.")
		for _, r := range reports {
			w.Sample("tokenkeeper_refusal_remembered", bool01(r.refusal), "profile", r.Profile)
		}
	}
	if watch != nil {
		watch.write(w, reports, states)
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func seconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// watchMetrics is what watch counts of its renewals, per profile, for as long
// as it runs (a SIGHUP that changes the list of profiles keeps the counts of
// the profiles that stay).
type watchMetrics struct {
	mu       sync.Mutex
	paths    []storage.Paths
	renewals map[string][]uint64 // by grantStates' index
	attempt  map[string]time.Time
}

func newWatchMetrics() *watchMetrics {
	return &watchMetrics{renewals: map[string][]uint64{}, attempt: map[string]time.Time{}}
}

// watching sets the profiles watched from now on.
func (m *watchMetrics) watching(paths []storage.Paths) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paths = paths
}

// observe counts a check of watch's that renewed or tried to: one that got a
// new token, kept the old one after a failure, or failed. A check that found
// the token valid, or a refusal remembered in the record (no request), is no
// renewal.
func (m *watchMetrics) observe(profile string, ev refresh.WatchEvent, at time.Time) {
	if m == nil {
		return
	}
	code := exitOK
	switch {
	case ev.Err != nil:
		var e *refresh.Error
		if errors.As(ev.Err, &e) && e.Retry {
			return
		}
		code = exitCode(refresh.KindOf(ev.Err))
	case ev.Result == nil:
		return
	case ev.Result.Action == refresh.ActionKept:
		code = exitTemp
	case ev.Result.Action != refresh.ActionRefreshed && ev.Result.Action != refresh.ActionBootstrapped:
		return
	}
	state, states := exitRowOf(code).state, grantStates()
	m.mu.Lock()
	defer m.mu.Unlock()
	counts := m.renewals[profile]
	if counts == nil {
		counts = make([]uint64, len(states))
		m.renewals[profile] = counts
	}
	for i, s := range states {
		if s == state {
			counts[i]++
		}
	}
	m.attempt[profile] = at
}

func (m *watchMetrics) write(w *promtext.Writer, reports []*statusReport, states []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	family := false
	for _, r := range reports {
		at, ok := m.attempt[r.Profile]
		if !ok {
			continue
		}
		if !family {
			w.Family("tokenkeeper_last_renewal_attempt_timestamp_seconds", "gauge", "When watch last renewed or tried to renew the profile's token, in seconds since the epoch.")
			family = true
		}
		w.Sample("tokenkeeper_last_renewal_attempt_timestamp_seconds", seconds(at), "profile", r.Profile)
	}
	if len(reports) == 0 {
		return
	}
	// Every result from 0, so that an alert sees the first failure as an increase.
	w.Family("tokenkeeper_renewals_total", "counter", "Renewals watch made or tried since it started, by result: the exit kind each ended with.")
	for _, r := range reports {
		counts := m.renewals[r.Profile]
		for i, s := range states {
			n := uint64(0)
			if counts != nil {
				n = counts[i]
			}
			w.Sample("tokenkeeper_renewals_total", float64(n), "profile", r.Profile, "result", s)
		}
	}
}

// scrape is the exposition now: each watched profile's status (no request,
// no lock), in a copy of the app of its own, and the renewals counted.
func (a *app) scrape(m *watchMetrics) []byte {
	m.mu.Lock()
	paths := m.paths
	m.mu.Unlock()
	now := time.Now()
	reports := make([]*statusReport, 0, len(paths))
	for _, p := range paths {
		b := *a
		b.paths, b.secrets = p, a.secrets.clone()
		reports = append(reports, b.statusOf(p, now, false))
	}
	var w promtext.Writer
	writeMetrics(&w, reports, m)
	return w.Bytes()
}

// metricsAddr checks --metrics: a port alone, or HOST:PORT. Without a host
// it is loopback; a host that is not a loopback address takes --metrics-remote
// (remote is then true: the caller warns).
func metricsAddr(addr string, allowRemote bool) (listen string, remote bool, err error) {
	if _, perr := strconv.ParseUint(addr, 10, 16); perr == nil {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", false, fmt.Errorf("--metrics %q: want PORT or HOST:PORT", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", false, fmt.Errorf("--metrics %q: the port is not a number from 0 to 65535", addr)
	}
	if host == "" {
		host = "localhost"
	}
	if bind, ok := refresh.LoopbackBind(host); ok {
		return net.JoinHostPort(bind, port), false, nil
	}
	if !allowRemote {
		return "", false, fmt.Errorf("--metrics %q: not a loopback address: other hosts could read the metrics", addr)
	}
	return net.JoinHostPort(host, port), true, nil
}

// serveMetrics serves GET /metrics on ln until the returned function is
// called. On loopback, a request must name a loopback host: a web page's
// script cannot read the metrics through a name of its own that resolves to
// 127.0.0.1 (DNS rebinding).
func (a *app) serveMetrics(ln net.Listener, m *watchMetrics, remote bool) (stop func()) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.Error(w, "not found: the metrics are at /metrics", http.StatusNotFound)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if !remote && !loopbackHost(r.Host) {
			http.Error(w, "forbidden: ask for a loopback host (127.0.0.1, [::1] or localhost)", http.StatusForbidden)
			return
		}
		body := a.scrape(m)
		w.Header().Set("Content-Type", promtext.ContentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.watchLog(slog.LevelError, "", "metrics: "+err.Error(), "")
		}
	}()
	return func() {
		_ = srv.Close()
		<-done
	}
}

// loopbackHost reports whether a request's Host names loopback, by the same
// rule as --listen and --metrics (refresh.LoopbackBind).
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	_, ok := refresh.LoopbackBind(host)
	return ok
}
