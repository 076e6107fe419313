package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// statusStore is what status shows of a --store: where the record is, and
// whether etcd answered (one read of the record's and the lock's keys; no
// request to the token endpoint).
type statusStore struct {
	URL        string `json:"url"`
	Reachable  bool   `json:"reachable"`
	Endpoint   string `json:"endpoint,omitempty"` // the member that answered
	TookMS     int64  `json:"took_ms"`            // that read, in milliseconds
	Revision   int64  `json:"revision,omitempty"` // the store's revision
	Record     bool   `json:"record"`             // the profile's record exists
	Revised    int64  `json:"revised,omitempty"`  // the record's mod_revision
	LockHolder string `json:"lock_holder,omitempty"`
	Copy       string `json:"copy"` // this host's read copy
	Error      string `json:"error,omitempty"`
}

// statusStoreOf fills the store part of a report and returns the Store the
// record is read through; nil (the file store) without --store.
func (a *app) statusStoreOf(r *statusReport, p storage.Paths) storage.Store {
	s, err := a.sharedStore(p)
	if err != nil || s == nil {
		return nil
	}
	h := s.Health(context.Background())
	// What etcd says is shown as every message is (redact: no secret, no
	// control character), in --json too, where the other fields get it.
	st := &statusStore{URL: s.Name(), Reachable: h.Reachable, Endpoint: h.Endpoint, TookMS: h.Took.Milliseconds(),
		Revision: h.Revision, Record: h.Record, Revised: h.Revised, LockHolder: a.redact(h.Holder), Copy: s.CopyFile()}
	if h.Err != nil {
		st.Error = a.redact(h.Err.Error())
		what := "the store did not answer"
		var ce *storage.ConfigError
		if errors.As(h.Err, &ce) {
			what = "the store cannot be used as configured" // no retry fixes it
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %v; this host's read copy, while valid, is served meanwhile", what, h.Err))
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
		if st.Record {
			rec = fmt.Sprintf("record at revision %d", st.Revised)
		}
		row("  health", fmt.Sprintf("reachable (%s, %dms), %s, %s", st.Endpoint, st.TookMS, rec, lock))
	}
	row("  read copy", st.Copy)
}
