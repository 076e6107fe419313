package kube

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

var osHostname = os.Hostname

// Profiles lists the profiles that have a Secret of the store's prefix in
// its namespace (for refresh --all and status --all), sorted: Secrets
// labelled with the prefix, named PREFIX-<profile>, not set aside. Only
// their metadata is fetched, never the records.
func (c *Client) Profiles(ctx context.Context) ([]string, error) {
	q := url.Values{}
	q.Set("labelSelector", labelPrefix+"="+c.cfg.Prefix+",!"+labelAside)
	q.Set("limit", "500")
	var names []string
	pages := 0
	for {
		var list struct {
			Metadata struct {
				Continue string `json:"continue"`
			} `json:"metadata"`
			Items []struct {
				Metadata objectMeta `json:"metadata"`
			} `json:"items"`
		}
		r := request{method: http.MethodGet, path: c.secretPath("") + "?" + q.Encode(), verb: "list", resource: resSecrets}
		if err := c.doAccept(ctx, r, metadataOnly, &list); err != nil {
			if errors.As(err, new(*storage.ConfigError)) {
				return nil, err // it names the verb and the resource already
			}
			return nil, fmt.Errorf("kubernetes: list %s: %w", c.what(r), err)
		}
		for _, it := range list.Items {
			name, ok := strings.CutPrefix(it.Metadata.Name, c.cfg.Prefix+"-")
			if ok && storage.ValidProfile(name) && dnsLabel(name) {
				names = append(names, name)
			}
		}
		if list.Metadata.Continue == "" {
			break
		}
		// A server whose pages never end (the same token again, or more pages
		// than any namespace holds) would keep this loop, and its memory,
		// growing until the deadline: it is an error, said at once.
		pages++
		if list.Metadata.Continue == q.Get("continue") || pages >= maxListPages {
			return nil, fmt.Errorf("kubernetes: list %s: the API server's pages do not end", c.what(r))
		}
		q.Set("continue", list.Metadata.Continue)
	}
	sort.Strings(names)
	return names, nil
}

// maxListPages bounds a listing: 200 pages of 500 are 100,000 Secrets.
const maxListPages = 200

// metadataOnly asks a list for its objects' metadata alone.
const metadataOnly = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

// doAccept is do with another Accept header.
func (c *Client) doAccept(ctx context.Context, r request, accept string, out any) error {
	r.accept = accept
	return c.do(ctx, r, out)
}

// Health is what status shows about the store.
type Health struct {
	Reachable bool
	Server    string        // the API server
	Took      time.Duration // reading the Secret and the Lease
	Record    bool          // the profile's record exists
	Version   string        // the Secret's resourceVersion
	Holder    string        // who holds the Lease now, "" if nobody
	Err       error
}

// Health reads the Secret and the Lease once (bounded by the store's
// Timeout). It never fails: an unreachable store is Reachable false.
func (s *Store) Health(ctx context.Context) Health {
	octx, cancel := s.bounds.Op(ctx)
	defer cancel()
	start := time.Now()
	conn, err := s.c.Conn()
	if err != nil {
		return Health{Err: err}
	}
	h := Health{Server: conn.Server}
	sec, err := s.c.getSecret(octx, s.name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		h.Err, h.Took = err, time.Since(start)
		return h
	}
	if err == nil {
		_, h.Record = sec.Data[dataKey]
		h.Version = sec.Metadata.ResourceVersion
	}
	l, err := s.c.getLease(octx, s.name)
	h.Took = time.Since(start)
	if err != nil && !errors.Is(err, ErrNotFound) {
		h.Err = err
		return h
	}
	h.Reachable = true
	if err == nil {
		h.Holder = redact.Line(l.Spec.HolderIdentity, 200)
	}
	return h
}

// WatchRecord calls fn with the record each time another holder saves it,
// keeping the host's read copy in step, until ctx ends: a watch of the one
// Secret (a field selector on its name, which a Role limited to that name
// allows). A broken stream is watched again from the last version seen; an
// expired version (410) reads the Secret again.
func (s *Store) WatchRecord(ctx context.Context, fn func(data []byte)) error {
	var from string
	for ctx.Err() == nil {
		if from == "" {
			octx, cancel := s.bounds.Op(ctx)
			sec, err := s.c.getSecret(octx, s.name)
			cancel()
			switch {
			case err == nil:
				if rec, ok := sec.Data[dataKey]; ok {
					data := s.files.Cap(rec)
					s.files.WriteCopy(data)
					fn(data)
				}
				from = sec.Metadata.ResourceVersion
			case errors.Is(err, ErrNotFound):
				from = "0"
			default:
				if !storage.Sleep(ctx, time.Second) {
					return ctx.Err()
				}
				continue
			}
		}
		var gone bool
		err := s.c.watchSecret(ctx, s.name, from, func(typ string, sec *secret) {
			switch typ {
			case "ADDED", "MODIFIED":
				if rec, ok := sec.Data[dataKey]; ok {
					data := s.files.Cap(rec)
					s.files.WriteCopy(data)
					fn(data)
				}
				from = sec.Metadata.ResourceVersion
			case "BOOKMARK", "DELETED":
				from = sec.Metadata.ResourceVersion
			case "ERROR":
				gone = true
			}
		})
		if gone || errors.Is(err, errGone) {
			from = ""
			continue
		}
		// A broken stream is watched again soon; a refusal (RBAC, a
		// credential) is tried again seldom, as watch waits for a person.
		pause := 200 * time.Millisecond
		var se *StatusError
		if errors.As(err, &se) || errors.As(err, new(*storage.ConfigError)) {
			pause = 10 * time.Second
		}
		if !storage.Sleep(ctx, pause) {
			break
		}
	}
	return ctx.Err()
}

var errGone = errors.New("kubernetes: watch: resourceVersion too old")

// watchSecret streams the events of one Secret from resourceVersion from
// until ctx ends or the stream breaks.
func (c *Client) watchSecret(ctx context.Context, name, from string, fn func(typ string, s *secret)) error {
	q := url.Values{}
	q.Set("watch", "1")
	q.Set("fieldSelector", "metadata.name="+name)
	q.Set("resourceVersion", from)
	q.Set("allowWatchBookmarks", "true")
	if _, err := c.Conn(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.conn.Server+c.secretPath("")+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if _, err := c.authorize(req); err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusGone {
		return errGone
	}
	if resp.StatusCode != http.StatusOK {
		return statusError(resp.StatusCode, nil, nil)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxBody)
	for sc.Scan() {
		var ev struct {
			Type   string `json:"type"`
			Object secret `json:"object"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return fmt.Errorf("kubernetes: watch: the answer is not the API server's JSON")
		}
		fn(ev.Type, &ev.Object)
		if ev.Type == "ERROR" {
			return errGone
		}
	}
	return sc.Err()
}
