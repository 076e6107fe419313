package refresh

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// What the lifecycle does differently with a shared store (storage/etcd):
// its lock is a lease that can run out, and the store can be unreachable.

// storeUnavailable is the failure of a shared store that did not answer in
// time: temporary, nothing was sent to the token endpoint.
func storeUnavailable(err error) *Error {
	return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(), Next: NextLater,
		Hint: "the token store did not answer in time; nothing was sent to the token endpoint"}
}

// keepWhileUnavailable serves the stored token, with a warning, when the
// lock could not be taken because the store is unreachable and the token
// is still valid (docs/contract.md §8); nil otherwise.
func (m *Manager) keepWhileUnavailable(err error) *Result {
	if !errors.Is(err, storage.ErrUnavailable) {
		return nil
	}
	tok, lerr := m.Load() // the host's read copy: no network
	if lerr != nil || !m.stillValid(tok) {
		return nil
	}
	return m.result(tok, ActionKept, []string{fmt.Sprintf("could not renew: %v; the current access token is valid until %s", err, tok.Expiry.Format(time.RFC3339))})
}

// leaseCovers refuses an exchange that may outlast the lock: a shared
// store's lock is a lease, and a holder whose lease ran out during the
// request could not save its answer (while another holder could spend the
// same refresh token). A lock that never expires always covers.
func (r *run) leaseCovers() error {
	exp := r.lock.Expires()
	if exp.IsZero() {
		return nil
	}
	need := orDefault(r.m.client.Timeout, DefaultTimeout)
	if l, ok := r.lock.(storage.Leased); ok && l.LeaseTTL() > 0 && l.LeaseTTL() <= need {
		// No run with these settings can ever send a request: waiting does not
		// help, the settings must change.
		return &Error{Kind: KindCredentials, Next: NextRunAgain,
			Msg: fmt.Sprintf("refresh: the lock's lease lasts %s, no longer than a token request may take (%s); nothing was sent", l.LeaseTTL(), need),
			Hint: fmt.Sprintf("the lease is the lock timeout less 1s, at most the request timeout + %s: give a lock timeout above %s (the request timeout + %s)",
				storage.LeaseMargin, need+storage.LeaseMargin+time.Second, storage.LeaseMargin+time.Second)}
	}
	left := time.Until(exp)
	if left > need {
		return nil
	}
	return &Error{Kind: KindTemporary, Next: NextLater,
		Msg:  fmt.Sprintf("refresh: the lock's lease ends in %s, sooner than a token request may take (%s); nothing was sent", left.Round(time.Millisecond), need),
		Hint: fmt.Sprintf("the lock's lease must outlast the request timeout: raise the lock timeout above the request timeout + %s", storage.LeaseMargin)}
}

// HolderText is what a lock holder writes for its waiters' messages:
// "pid=1234 cmd=tokenkeeper token since=2026-11-21T23:00:00Z".
func HolderText(cmd string) string {
	return fmt.Sprintf("pid=%d cmd=%s since=%s", os.Getpid(), cmd, time.Now().UTC().Format(time.RFC3339))
}

// PendingSupersedes is storage.SharedOptions.Supersedes: a pending answer
// (a host's save that failed; it may hold the only live refresh token, the
// one that replaced a token it spent) replaces the shared record that moved
// on since, when all the record moved on to is the refusal of its refresh
// token: another host sent the token the pending answer's request had spent,
// was refused, and remembered it. The record is then a dead grant, and the
// pending answer, obtained after it, the live one; a record that holds
// anything else (a new grant), or one newer than the pending answer (which
// may have waited on a host that was away), wins, and the pending answer is
// kept aside.
func PendingSupersedes(pending, current []byte) bool {
	p, err := ParseFile(pending)
	if err != nil || p.RefreshToken == "" {
		return false
	}
	c, err := ParseFile(current)
	return err == nil && c.refreshRefused() && c.RefreshToken != p.RefreshToken && !p.ObtainedAt.Before(c.ObtainedAt)
}
