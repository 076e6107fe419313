package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/etcd"
	"github.com/tokenkeeper/tokenkeeper/storage/kube"
)

// storePasswordEnv carries the password of the --store URL's user: never
// argv, never the URL.
const storePasswordEnv = "TOKENKEEPER_STORE_PASSWORD"

// The host's files of the etcd store, in the profile's state directory.
const (
	storeCopyName    = "store-copy.json"
	storePendingName = "store-pending.json"
)

// kubeFileName is a host file of the Kubernetes store, named after the
// namespace and the prefix (store-copy.k8s.apps.tokenkeeper.json): a copy
// read from one namespace is never served for another when the store URL
// changes. Both are DNS labels: no dot, no slash.
func kubeFileName(name string, cfg kube.Config) string {
	return strings.TrimSuffix(name, ".json") + ".k8s." + cfg.Namespace + "." + cfg.Prefix + ".json"
}

// etcdCopyName is the etcd store's read copy, named after the cluster and
// the prefix (store-copy.etcd.3f2a9c1e.json: the first bytes of a SHA-256
// of the prefix and the endpoints, sorted, as the order of failover is no
// other store): a copy read from one cluster or prefix is never served for
// another when the store URL changes. The pending file keeps one name
// (storePendingName): an answer kept by a run must be found by the next
// whatever its URL, and is pushed only over the version it was meant to
// replace.
func etcdCopyName(cfg etcd.Config) string {
	hosts := make([]string, len(cfg.Endpoints))
	for i, e := range cfg.Endpoints {
		hosts[i] = strings.ToLower(e)
	}
	slices.Sort(hosts)
	sum := sha256.Sum256([]byte(cfg.Prefix + "\n" + strings.Join(hosts, "\n")))
	return strings.TrimSuffix(storeCopyName, ".json") + ".etcd." + hex.EncodeToString(sum[:4]) + ".json"
}

// storeClient is the etcd client of --store (TOKENKEEPER_STORE), made once
// per run and shared by every profile; nil without --store.
func (a *app) storeClient() (*etcd.Client, error) {
	if a.g.store == "" || kube.IsURL(a.g.store) {
		return nil, nil
	}
	if a.etcd != nil {
		return a.etcd, nil
	}
	cfg, err := etcd.ParseURL(a.g.store)
	if err != nil {
		return nil, err
	}
	if cfg.User != "" {
		cfg.Password = a.getenv(storePasswordEnv)
		if cfg.Password == "" {
			return nil, fmt.Errorf("etcd: the store URL names user %s but %s is empty", cfg.User, storePasswordEnv)
		}
		a.addSecrets(cfg.Password)
	}
	a.etcd, err = etcd.NewClient(cfg)
	return a.etcd, err
}

// sharedStore is a --store's store of one profile: etcd's or Kubernetes'.
type sharedStore interface {
	storage.Store
	CopyFile() string // this host's read copy
	LockName() string // the lock, as messages show it
	WatchRecord(ctx context.Context, fn func(data []byte)) error
}

// kubeClient is the Kubernetes client of a k8s:// --store, made once per
// run; it finds the API server (in a pod, or the kubeconfig) only when it
// first sends a request.
func (a *app) kubeClient() (*kube.Client, error) {
	if a.kube != nil {
		return a.kube, nil
	}
	cfg, err := kube.ParseURL(a.g.store)
	if err != nil {
		return nil, err
	}
	home, _ := os.UserHomeDir()
	a.kube = kube.NewClient(cfg, func() (*kube.Conn, error) {
		c, err := kube.Connect(a.getenv, home)
		if err == nil && c.Token != "" {
			a.addSecrets(c.Token)
		}
		return c, err
	})
	return a.kube, nil
}

// sharedStore is the store of the profile at p, or nil without --store
// (the lifecycle then uses the file store).
func (a *app) sharedStore(p storage.Paths) (sharedStore, error) {
	o := storage.SharedOptions{
		Profile:     p.Profile,
		CopyFile:    filepath.Join(p.StateDir, storeCopyName),
		PendingFile: filepath.Join(p.StateDir, storePendingName),
		Timeout:     a.g.timeout,
		Budget:      a.budget,
		LeaseTTL:    storage.LeaseTTL(a.g.timeout, a.g.lockTimeout),
		Warn:        func(msg string) { a.warn(msg) },
		Supersedes:  refresh.PendingSupersedes,
	}
	if kube.IsURL(a.g.store) {
		c, err := a.kubeClient()
		if err != nil {
			return nil, err
		}
		o.CopyFile, o.PendingFile = filepath.Join(p.StateDir, kubeFileName(storeCopyName, c.Config())), filepath.Join(p.StateDir, kubeFileName(storePendingName, c.Config()))
		return kube.New(kube.Options{Client: c, SharedOptions: o})
	}
	c, err := a.storeClient()
	if err != nil || c == nil {
		return nil, err
	}
	// A copy named after no store is never read: a token it holds is not
	// left behind.
	_ = storage.RemoveIfExists(o.CopyFile)
	o.CopyFile = filepath.Join(p.StateDir, etcdCopyName(c.Config()))
	return etcd.New(etcd.Options{Client: c, SharedOptions: o})
}

// storeFor is what refresh.Manager.Store gets: the shared store, or nil
// (the file store of the paths).
func (a *app) storeFor(p storage.Paths) (storage.Store, error) {
	s, err := a.sharedStore(p)
	if s == nil || err != nil {
		return nil, storeError(err)
	}
	return s, nil
}

// checkStore makes the --store client before any command runs, so that a bad
// URL, or a user without a password, is a usage error (exit 2) at once.
func (a *app) checkStore() int {
	var err error
	switch {
	case kube.IsURL(a.g.store):
		_, err = a.kubeClient()
	case etcd.IsURL(a.g.store):
		_, err = a.storeClient()
	case urlScheme(a.g.store) != "":
		// Neither store's: etcd's parser would answer "want etcd or etcds".
		err = fmt.Errorf("store URL %q: unknown scheme %q (want etcd, etcds or k8s)", redact.StoreURL(a.g.store), urlScheme(a.g.store))
	default:
		_, err = a.storeClient() // not a URL at all: etcd's parser says why
	}
	var rec *storage.RecordError
	var pe *fs.PathError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &rec):
		// The URL is right; the file its ca=, cert= or key= names is not
		// one (a FIFO, a device, a dangling link): fix the file, 78.
		a.message("error", err.Error(), rec.Hint)
		return exitConfig
	case errors.As(err, &pe) || errors.Is(err, storage.ErrTooLarge):
		a.message("error", err.Error(), "check the file the store URL names (ca=, cert=, key=): it must be a PEM file this user can read")
		return exitConfig
	}
	return a.usageError(err.Error(), storeURLHint(a.g.store))
}

// urlScheme is raw's scheme when raw starts with one (RFC 3986's letters,
// digits, '+', '-', '.'), else "".
func urlScheme(raw string) string {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" || strings.IndexFunc(scheme, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.')
	}) >= 0 {
		return ""
	}
	return scheme
}

// storeURLHint names the forms of a --store URL: its scheme's own (each store
// package owns its URL's shape), or every scheme's for a URL of neither.
func storeURLHint(raw string) string {
	etcdForms := etcd.URLForm + " (etcds:// with ?ca=&cert=&key= for TLS, ?user=NAME with the password in " + storePasswordEnv + ")"
	switch {
	case kube.IsURL(raw):
		return "the store URL is " + kube.URLForm
	case etcd.IsURL(raw):
		return "the store URL is " + etcdForms
	}
	return "the store URL is " + etcdForms + ", or " + kube.URLForm
}

// storeProfiles adds to names the profiles that have a record under the
// --store prefix (refresh --all, status --all, profiles; watch --all lists
// the config root alone: a profile needs its credentials.json to renew),
// waiting at most wait for the store. A store that does not answer is a
// failure for now (75), as it is for a single profile. A Kubernetes account
// that may not list Secrets (a Role limited to named ones, as
// docs/kubernetes.md advises) is not a failure: the profiles that could be
// renewed here are the ones with credentials here, and a warning says what
// was left out.
func (a *app) storeProfiles(names []string, wait time.Duration) ([]string, error) {
	var lister interface {
		Profiles(context.Context) ([]string, error)
	}
	if kube.IsURL(a.g.store) {
		c, err := a.kubeClient()
		if err != nil {
			return names, err
		}
		lister = c
	} else {
		c, err := a.storeClient()
		if err != nil || c == nil {
			return names, err
		}
		lister = c
	}
	ctx, cancel := context.WithTimeout(a.ctx, wait)
	defer cancel()
	shared, err := lister.Profiles(ctx)
	var se *kube.StatusError
	if errors.As(err, &se) && se.Code == http.StatusForbidden {
		// With profiles here, this is the Role docs/kubernetes.md advises
		// (a CronJob's every run would repeat a warning): said with -v.
		// With none, the listing was the point: a warning. A completion
		// or a suggestion says nothing.
		msg := fmt.Sprintf("%v; only the profiles of this host's config directory are listed", err)
		switch {
		case len(names) > 0:
			a.log.Debug(a.redact(msg))
		case wait != storeGlance:
			a.warn(msg)
		}
		return names, nil
	}
	if err != nil {
		return nil, storeError(err)
	}
	return mergeSorted(names, shared), nil
}

// storeGlance is how long completion, and a "did you mean" for a profile that
// does not exist, wait for the store's list of profiles: a suggestion is not
// worth a wait a person notices, and the local profiles are offered anyway.
const storeGlance = 300 * time.Millisecond

// watchStore makes watch see other hosts' renewals through a store's watch of
// each profile's record, as fsnotify shows it other processes' saves: the
// host's read copy is brought up to date and the profile's watcher is told
// that its token changed.
func (a *app) watchStore(ctx context.Context, paths []storage.Paths, route map[string]chan string) {
	for _, p := range paths {
		s, err := a.sharedStore(p)
		if err != nil || s == nil {
			return
		}
		ch, token := route[p.CredentialsFile], p.TokenFile
		go s.WatchRecord(ctx, func([]byte) {
			select {
			case ch <- token:
			default: // one pending check is as good as several
			}
		})
	}
}
