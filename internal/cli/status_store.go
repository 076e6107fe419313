package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokenkeeper/tokenkeeper/storage"
	"github.com/tokenkeeper/tokenkeeper/storage/etcd"
	"github.com/tokenkeeper/tokenkeeper/storage/kube"
)

// statusStore is what status shows of a --store: where the record is, and
// whether the store answered (etcd: one read of the record's and the lock's
// keys; Kubernetes: of the Secret and the Lease; no request to the token
// endpoint).
type statusStore struct {
	URL        string `json:"url"`
	Reachable  bool   `json:"reachable"`
	Endpoint   string `json:"endpoint,omitempty"`         // the member that answered
	TookMS     int64  `json:"took_ms"`                    // that read, in milliseconds
	Revision   int64  `json:"revision,omitempty"`         // the store's revision
	Record     bool   `json:"record"`                     // the profile's record exists
	Revised    int64  `json:"revised,omitempty"`          // the record's mod_revision
	Version    string `json:"resource_version,omitempty"` // the record's Secret's resourceVersion (Kubernetes)
	LockHolder string `json:"lock_holder,omitempty"`
	Copy       string `json:"copy"` // this host's read copy
	Error      string `json:"error,omitempty"`
}

// statusStoreOf fills the store part of a report and returns the Store the
// record is read through; nil (the file store) without --store.
func (a *app) statusStoreOf(r *statusReport, p storage.Paths) storage.Store {
	s, err := a.sharedStore(p)
	if err != nil {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the store cannot be used for this profile: %v", err))
	}
	if err != nil || s == nil {
		return nil
	}
	st := &statusStore{URL: s.Name(), Copy: s.CopyFile()}
	var herr error
	switch s := s.(type) {
	case *etcd.Store:
		h := s.Health(context.Background())
		// What etcd says is shown as every message is (redact: no secret, no
		// control character), in --json too, where the other fields get it.
		st.Reachable, st.Endpoint, st.TookMS, st.Revision = h.Reachable, h.Endpoint, h.Took.Milliseconds(), h.Revision
		st.Record, st.Revised, st.LockHolder, herr = h.Record, h.Revised, a.redact(h.Holder), h.Err
	case *kube.Store:
		h := s.Health(context.Background())
		st.Reachable, st.Endpoint, st.TookMS, st.Version = h.Reachable, h.Server, h.Took.Milliseconds(), h.Version
		st.Record, st.LockHolder, herr = h.Record, a.redact(h.Holder), h.Err
	}
	if herr != nil {
		st.Error = a.redact(herr.Error())
		what := "the store did not answer"
		var ce *storage.ConfigError
		if errors.As(herr, &ce) {
			what = "the store cannot be used as configured" // no retry fixes it
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %v; this host's read copy, while valid, is served meanwhile", what, herr))
	}
	if c, _ := a.storeClient(); c != nil {
		if host := c.Config().ClearText(); host != "" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("the store is reached without TLS: the record, its refresh token included, crosses the network to %s in clear text; use etcds://", host))
		}
	}
	r.Store = st
	r.Files.Token, r.Files.Lock = s.Name(), s.LockName()
	return s
}

func (a *app) printStatusStore(row func(k, v string), st *statusStore) {
	if st == nil {
		return
	}
	row("store", st.URL)
	switch {
	case !st.Reachable:
		row("  health", "unreachable: "+st.Error)
	default:
		lock := "lock free"
		if st.LockHolder != "" {
			lock = "lock held by " + st.LockHolder
		}
		rec := "no record yet"
		switch {
		case st.Record && st.Version != "":
			rec = "record at resourceVersion " + st.Version
		case st.Record:
			rec = fmt.Sprintf("record at revision %d", st.Revised)
		}
		row("  health", fmt.Sprintf("reachable (%s, %dms), %s, %s", st.Endpoint, st.TookMS, rec, lock))
	}
	row("  read copy", st.Copy)
}
