package etcd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// KeyValue is etcd's mvccpb.KeyValue.
type KeyValue struct {
	Key            []byte `json:"key"`
	Value          []byte `json:"value,omitempty"`
	CreateRevision i64    `json:"create_revision,omitempty"`
	ModRevision    i64    `json:"mod_revision,omitempty"`
	Version        i64    `json:"version,omitempty"`
	Lease          i64    `json:"lease,omitempty"`
}

type header struct {
	Revision i64 `json:"revision"`
}

// RangeRequest is etcdserverpb.RangeRequest (the fields used here).
type RangeRequest struct {
	Key          []byte `json:"key"`
	RangeEnd     []byte `json:"range_end,omitempty"`
	Limit        i64    `json:"limit,omitempty"`
	KeysOnly     bool   `json:"keys_only,omitempty"`
	Serializable bool   `json:"serializable,omitempty"`
}

// RangeResponse is etcdserverpb.RangeResponse.
type RangeResponse struct {
	Header header      `json:"header"`
	Kvs    []*KeyValue `json:"kvs"`
	More   bool        `json:"more"`
	Count  i64         `json:"count"`
}

// PutRequest is etcdserverpb.PutRequest.
type PutRequest struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
	Lease i64    `json:"lease,omitempty"`
}

// DeleteRangeRequest is etcdserverpb.DeleteRangeRequest.
type DeleteRangeRequest struct {
	Key      []byte `json:"key"`
	RangeEnd []byte `json:"range_end,omitempty"`
}

// Compare is etcdserverpb.Compare; exactly one of the value fields is used,
// according to Target ("CREATE", "MOD", "VERSION", "VALUE", "LEASE").
type Compare struct {
	Result         string `json:"result"` // "EQUAL", "GREATER", "LESS", "NOT_EQUAL"
	Target         string `json:"target"`
	Key            []byte `json:"key"`
	CreateRevision *i64   `json:"create_revision,omitempty"`
	ModRevision    *i64   `json:"mod_revision,omitempty"`
	Lease          *i64   `json:"lease,omitempty"`
	Value          []byte `json:"value,omitempty"`
}

// RequestOp is etcdserverpb.RequestOp.
type RequestOp struct {
	Range       *RangeRequest       `json:"request_range,omitempty"`
	Put         *PutRequest         `json:"request_put,omitempty"`
	DeleteRange *DeleteRangeRequest `json:"request_delete_range,omitempty"`
}

// ResponseOp is etcdserverpb.ResponseOp.
type ResponseOp struct {
	Range *RangeResponse `json:"response_range,omitempty"`
}

// TxnRequest is etcdserverpb.TxnRequest.
type TxnRequest struct {
	Compare []Compare   `json:"compare"`
	Success []RequestOp `json:"success"`
	Failure []RequestOp `json:"failure"`
}

// TxnResponse is etcdserverpb.TxnResponse.
type TxnResponse struct {
	Header    header       `json:"header"`
	Succeeded bool         `json:"succeeded"`
	Responses []ResponseOp `json:"responses"`
}

func rev(n int64) *i64 { v := i64(n); return &v }

// Range reads keys.
func (c *Client) Range(ctx context.Context, r RangeRequest) (*RangeResponse, error) {
	var resp RangeResponse
	return &resp, c.call(ctx, "/v3/kv/range", r, &resp)
}

// Get reads one key; nil when it does not exist.
func (c *Client) Get(ctx context.Context, key string) (*KeyValue, int64, error) {
	r, err := c.Range(ctx, RangeRequest{Key: []byte(key)})
	if err != nil {
		return nil, 0, err
	}
	if len(r.Kvs) == 0 {
		return nil, int64(r.Header.Revision), nil
	}
	return r.Kvs[0], int64(r.Header.Revision), nil
}

// Put writes one key.
func (c *Client) Put(ctx context.Context, r PutRequest) (int64, error) {
	var resp struct {
		Header header `json:"header"`
	}
	err := c.call(ctx, "/v3/kv/put", r, &resp)
	return int64(resp.Header.Revision), err
}

// Txn runs a transaction.
func (c *Client) Txn(ctx context.Context, r TxnRequest) (*TxnResponse, error) {
	var resp TxnResponse
	return &resp, c.call(ctx, "/v3/kv/txn", r, &resp)
}

// Grant makes a lease of ttl seconds and returns its ID and granted TTL.
func (c *Client) Grant(ctx context.Context, ttl int64) (id, granted int64, err error) {
	var resp struct {
		ID    i64    `json:"ID"`
		TTL   i64    `json:"TTL"`
		Error string `json:"error"`
	}
	if err := c.call(ctx, "/v3/lease/grant", map[string]i64{"TTL": i64(ttl)}, &resp); err != nil {
		return 0, 0, err
	}
	if resp.Error != "" || resp.ID == 0 {
		return 0, 0, fmt.Errorf("etcd: lease grant: %s", sanitize(redact.Text(resp.Error, c.hidden(nil))))
	}
	return int64(resp.ID), int64(resp.TTL), nil
}

// KeepAlive renews a lease once and returns its TTL in seconds from now; 0
// means the lease no longer exists.
func (c *Client) KeepAlive(ctx context.Context, id int64) (int64, error) {
	var resp struct {
		Result struct {
			TTL i64 `json:"TTL"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := c.call(ctx, "/v3/lease/keepalive", map[string]i64{"ID": i64(id)}, &resp); err != nil {
		return 0, err
	}
	if resp.Error != nil {
		return 0, fmt.Errorf("etcd: lease keepalive: %s", sanitize(redact.Text(resp.Error.Message, c.hidden(nil))))
	}
	return int64(resp.Result.TTL), nil
}

// Revoke ends a lease, deleting the keys attached to it. A lease that no
// longer exists is not an error.
func (c *Client) Revoke(ctx context.Context, id int64) error {
	var resp struct{}
	err := c.call(ctx, "/v3/lease/revoke", map[string]i64{"ID": i64(id)}, &resp)
	var ee *Error
	if errors.As(err, &ee) && ee.Code == 5 {
		return nil
	}
	return err
}

// Event is one change seen by Watch.
type Event struct {
	Type string    `json:"type"` // "" (PUT) or "DELETE"
	Kv   *KeyValue `json:"kv"`
}

// ErrCompacted is returned by Watch when the revision asked for has been
// compacted away: re-read and watch from the present.
var ErrCompacted = errors.New("etcd: watch: revision compacted")

// Watch streams the changes of key (with rangeEnd, of a range) from
// revision start (0: from now) to fn, on one member, until fn returns
// false, ctx ends or the stream breaks. A broken stream is an error; the
// caller re-reads and watches again, from the revision it has seen.
func (c *Client) Watch(ctx context.Context, key, rangeEnd []byte, start int64, fn func(rev int64, evs []Event) bool) error {
	req := map[string]any{"create_request": map[string]any{
		"key": key, "range_end": rangeEnd, "start_revision": i64(start), "progress_notify": true,
	}}
	body, _ := json.Marshal(req)
	n, first := c.position()
	var last error
	for i := range n {
		ep := (first + i) % n
		err := c.watchOn(ctx, ep, body, fn)
		if err == nil || errors.Is(err, ErrCompacted) || ctx.Err() != nil {
			return err
		}
		last = err
	}
	return &UnavailableError{Op: "/v3/watch", Last: last}
}

func (c *Client) watchOn(ctx context.Context, ep int, body []byte, fn func(int64, []Event) bool) error {
	if err := c.ensureAuth(ctx, ep); err != nil {
		return err
	}
	r, err := c.post(ctx, ep, "/v3/watch", body)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		return answerError(c.cfg.Endpoints[ep], r.StatusCode, data, c.hidden(body))
	}
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 0, 64<<10), maxBody)
	for sc.Scan() {
		var m struct {
			Result struct {
				Header          header  `json:"header"`
				Canceled        bool    `json:"canceled"`
				CompactRevision i64     `json:"compact_revision"`
				CancelReason    string  `json:"cancel_reason"`
				Events          []Event `json:"events"`
			} `json:"result"`
			Error *struct {
				Message string `json:"message"`
				Code    int    `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return &Error{Endpoint: c.cfg.Endpoints[ep], Message: "watch answer is not etcd's JSON: " + err.Error()}
		}
		if m.Error != nil {
			return &Error{Endpoint: c.cfg.Endpoints[ep], Code: m.Error.Code, Message: sanitize(redact.Text(m.Error.Message, c.hidden(body)))}
		}
		res := m.Result
		if res.CompactRevision != 0 {
			return ErrCompacted
		}
		if res.Canceled {
			return &Error{Endpoint: c.cfg.Endpoints[ep], Message: "watch cancelled: " + sanitize(redact.Text(res.CancelReason, c.hidden(body)))}
		}
		c.settle(ep)
		if !fn(int64(res.Header.Revision), res.Events) {
			return nil
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("etcd: watch on %s: %w", c.cfg.Endpoints[ep], err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("etcd: watch on %s: stream ended", c.cfg.Endpoints[ep])
}
