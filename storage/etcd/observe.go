package etcd

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Profiles lists the profiles that have a record under the client's prefix
// (for refresh --all and status --all), sorted. A key whose profile part is
// no profile name (storage.ValidProfile: "..", a hidden name, control
// characters) is left out, as storage.ListProfiles leaves such a directory.
func (c *Client) Profiles(ctx context.Context) ([]string, error) {
	p := c.cfg.Prefix + "/"
	r, err := c.Range(ctx, RangeRequest{Key: []byte(p), RangeEnd: prefixEnd([]byte(p)), KeysOnly: true})
	if err != nil {
		return nil, fmt.Errorf("etcd: list %s: %w", p, err)
	}
	var names []string
	for _, kv := range r.Kvs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(string(kv.Key), p), "/record")
		if ok && storage.ValidProfile(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// prefixEnd is the range end that covers every key starting with p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return []byte{0}
}

// Health is what status shows about the store.
type Health struct {
	Reachable bool
	Endpoint  string        // the member that answered
	Revision  int64         // the store's revision
	Took      time.Duration // one linearizable read
	Record    bool          // the profile's record exists
	Revised   int64         // its mod_revision
	Holder    string        // who holds the lock now, "" if nobody
	Err       error         // why not reachable
}

// Health reads the record's and the lock's keys once (bounded by the store's
// Timeout) and says how that went. It never fails: an unreachable store is
// a Health with Reachable false.
func (s *Store) Health(ctx context.Context) Health {
	octx, cancel := s.bounds.Op(ctx)
	defer cancel()
	start := time.Now()
	r, err := s.o.Client.Txn(octx, TxnRequest{Success: []RequestOp{
		{Range: &RangeRequest{Key: []byte(s.recordKey), KeysOnly: true}},
		{Range: &RangeRequest{Key: []byte(s.lockKey)}},
	}})
	h := Health{Took: time.Since(start), Err: err}
	if err != nil {
		return h
	}
	h.Reachable, h.Revision = true, int64(r.Header.Revision)
	n, ep := s.o.Client.position()
	if n > 0 {
		h.Endpoint = s.o.Client.cfg.Endpoints[ep]
	}
	if len(r.Responses) == 2 {
		if rr := r.Responses[0].Range; rr != nil && len(rr.Kvs) > 0 {
			h.Record, h.Revised = true, int64(rr.Kvs[0].ModRevision)
		}
		if rr := r.Responses[1].Range; rr != nil && len(rr.Kvs) > 0 {
			h.Holder = sanitize(string(rr.Kvs[0].Value))
		}
	}
	return h
}

// WatchRecord calls fn with the record each time another holder saves it,
// keeping the host's read copy in step, until ctx ends. A broken stream
// (a member down) is re-established on the next member from the last
// revision seen; a compacted revision re-reads the record. It is what watch
// uses instead of fsnotify with a shared store.
func (s *Store) WatchRecord(ctx context.Context, fn func(data []byte)) error {
	key := []byte(s.recordKey)
	var from int64
	for ctx.Err() == nil {
		if from == 0 {
			octx, cancel := s.bounds.Op(ctx)
			kv, rev, err := s.o.Client.Get(octx, s.recordKey)
			cancel()
			if err != nil {
				if !storage.Sleep(ctx, time.Second) {
					break
				}
				continue
			}
			if kv != nil {
				data := s.files.Cap(kv.Value)
				s.files.WriteCopy(data)
				fn(data)
			}
			from = rev + 1
		}
		err := s.o.Client.Watch(ctx, key, nil, from, func(rev int64, evs []Event) bool {
			for _, ev := range evs {
				if ev.Kv != nil && ev.Type != "DELETE" {
					data := s.files.Cap(ev.Kv.Value)
					s.files.WriteCopy(data)
					fn(data)
				}
			}
			from = rev + 1
			return true
		})
		if err == ErrCompacted {
			from = 0
			continue
		}
		if !storage.Sleep(ctx, 200*time.Millisecond) {
			break
		}
	}
	return ctx.Err()
}
