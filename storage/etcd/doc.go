// Package etcd keeps a profile's token record in etcd, so that many hosts
// share one grant: a rotating refresh token can live in one place only, and
// two hosts that each keep a copy spend it twice. Store implements
// storage.Store.
//
// # Transport
//
// Client speaks etcd's v3 API through the gRPC JSON gateway that etcd 3.4
// and later serve on the client port (POST /v3/kv/range, /v3/kv/txn,
// /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke, /v3/watch,
// /v3/auth/authenticate; keys and values base64, int64 as JSON strings),
// with net/http only. The official client (go.etcd.io/etcd/client/v3, on
// gRPC) was not used: linking it doubled a minimal Go program's start-up
// time, and Go initialises every linked package at start-up, so the cost
// would fall on every `tokenkeeper token` of file users too. The endpoints
// are tried in order, staying with the last one that answered; one request
// to one member is bounded by Client.AttemptTimeout (2 s), a whole
// operation by the store's Timeout (--timeout), and every body is capped.
//
// # Keys
//
//	PREFIX/<profile>/record          the token file's JSON
//	PREFIX/<profile>/lock            the lock: value = holder, attached to its lease
//	PREFIX/<profile>/corrupt-<time>  a record set aside as unreadable
//	PREFIX/<profile>/<label>-<time>  one set aside for another reason: logged-out, pulled
//
// # The lock
//
// One key per profile, created by a transaction only if it does not exist
// (create_revision == 0), attached to the holder's lease. Waiters watch the
// key and try again when it is deleted — by Unlock (revoking the lease) or
// by etcd when the lease runs out. This was chosen over etcd's own
// recipe (a key per waiter, the lowest create revision holds, each waiter
// watching its predecessor) because the lifecycle does not need fairness
// (a waiter usually finds the token renewed and leaves without the lock),
// the holder's name is one read away for "lock busy, held by …", and
// there are no waiter keys to clean up. A stampede of n waiters costs n
// transactions when the lock is freed, which etcd absorbs easily at the
// sizes this tool sees.
//
// The lease's TTL is storage.LeaseTTL(--timeout, --lock-timeout): timeout +
// 15 s (45 s by default), and below the lock timeout, so a killed or
// partitioned holder frees the lock by itself before its waiters give up;
// never below storage.MinLeaseTTL, so a lock timeout of MinLeaseTTL or less
// is the one case where the lease may outlast the waiters. It is kept
// alive every quarter of the TTL while held; Locked.Expires reports the
// deadline of the last renewal, counted from when it was sent, and the
// lifecycle sends no refresh request that may outlast it.
//
// # Saves
//
// Locked.Save is one transaction that succeeds only if the lock key still
// carries our lease AND the record's mod_revision is the one Locked.Read
// saw. If it fails — lock lost, record changed, etcd unreachable — nothing
// is written to etcd, and the answer is kept in the host's pending file
// (0600): it may carry a refresh token that was just spent. The next run
// (Store.Read or Store.Lock) pushes it first, under the lock, if the record
// is still the revision it was meant to replace; if another holder has
// saved since, the pending answer is renamed to PENDING.stale-<time> and a
// warning names it (never deleted).
//
// # The host's read copy
//
// Each host keeps the last record it read or wrote in a file in the
// profile's state directory (written atomically, 0600, through
// storage.ReplaceFile; read through storage.ReadRecord: a symbolic link
// planted there is never followed). Store.Read returns it without any network, so
// `token` on a valid token costs what it costs with the file store, and a
// still-valid token is served while etcd is down. The copy is never the
// only copy of anything: under the lock, the record is always read from
// etcd. It may be older than etcd's record (another host renewed); a stale
// copy still holding a valid access token is served, which is no worse than
// what the file store does between two renewals.
//
// # Failures
//
// An operation that no member answers within the store's Timeout fails
// with an error matching storage.ErrUnavailable: the lifecycle serves a
// valid token with a warning and otherwise asks to retry later (exit 75).
package etcd
