package refresh

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// leaseStore is the file store whose lock says it expires after lease, as a
// shared store's lease would.
type leaseStore struct {
	storage.Store
	lease time.Duration
}

func (s leaseStore) Lock(ctx context.Context, timeout time.Duration, holder string) (storage.Locked, error) {
	l, err := s.Store.Lock(ctx, timeout, holder)
	if err != nil {
		return nil, err
	}
	return leaseLocked{l, time.Now().Add(s.lease)}, nil
}

type leaseLocked struct {
	storage.Locked
	exp time.Time
}

func (l leaseLocked) Expires() time.Time { return l.exp }

// A holder whose lease ends sooner than a request may take sends nothing: it
// could not save the answer, and another holder could spend the same refresh
// token meanwhile (docs/contract.md §8). One whose lease outlasts the timeout renews.
func TestLeaseMustOutlastTheRequest(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	file := storage.OpenFileStore(e.paths, nil)
	e.m.Store = leaseStore{file, 5 * time.Second} // Client.Timeout is 10 s
	e.clock.Add(2 * time.Hour)
	_, err := e.ensure(t, Options{})
	if KindOf(err) != KindTemporary || !strings.Contains(err.Error(), "lease") {
		t.Fatalf("Ensure with a 5 s lease: got %v, want a temporary error about the lease", err)
	}
	e.wantCounts(t, 1, 0)
	e.m.Store = leaseStore{file, 15 * time.Second}
	e.mustEnsure(t, Options{}, ActionRefreshed)
	e.wantCounts(t, 1, 1)
}

// The same before a new grant: a bootstrap may spend a seed refresh token,
// or hand out a grant its holder cannot save, as a refresh would.
func TestLeaseMustOutlastTheBootstrap(t *testing.T) {
	e := newEnv(t, fakeserver.Options{Rotate: true}, nil)
	file := storage.OpenFileStore(e.paths, nil)
	e.m.Store = leaseStore{file, 5 * time.Second} // Client.Timeout is 10 s
	_, err := e.ensure(t, Options{})
	if KindOf(err) != KindTemporary || !strings.Contains(err.Error(), "lease") {
		t.Fatalf("Ensure with a 5 s lease and no token: got %v, want a temporary error about the lease", err)
	}
	e.wantCounts(t, 0, 0)
	e.m.Store = leaseStore{file, 15 * time.Second}
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 1, 0)
}

// busyStore is the file store whose lock another holder keeps until free.
type busyStore struct {
	storage.Store
	free time.Time
}

func (s busyStore) Lock(ctx context.Context, timeout time.Duration, holder string) (storage.Locked, error) {
	if time.Now().Before(s.free) {
		time.Sleep(min(timeout, time.Until(s.free)))
		return nil, &storage.LockBusyError{Path: "lock", Holder: "another"}
	}
	return s.Store.Lock(ctx, timeout, holder)
}

// The run's one deadline (Client.Budget) does not count the wait for
// another holder's lock: a run that waited longer than its budget still
// has it for its own request.
func TestBudgetPausedForTheLock(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.m.Client.Budget = storage.NewBudget(300 * time.Millisecond)
	e.m.Store = busyStore{storage.OpenFileStore(e.paths, nil), time.Now().Add(500 * time.Millisecond)}
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.wantCounts(t, 1, 0)
}

// downStore reads like the file store but cannot be locked: a shared store
// whose members do not answer, with the host's read copy still there.
type downStore struct{ storage.Store }

func (downStore) Lock(context.Context, time.Duration, string) (storage.Locked, error) {
	return nil, fmt.Errorf("etcd: lock /tokenkeeper/default/lock: no member answered: %w", storage.ErrUnavailable)
}

// An unreachable store: a still-valid token is served with a warning; an
// expired one is a temporary failure, with nothing sent.
func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t, fakeserver.Options{}, nil)
	e.mustEnsure(t, Options{}, ActionBootstrapped)
	e.m.Store = downStore{storage.OpenFileStore(e.paths, nil)}
	e.clock.Add(time.Hour - 30*time.Second) // within the margin, still valid
	r := e.mustEnsure(t, Options{}, ActionKept)
	if !hasWarning(r, "could not renew", "no member answered") {
		t.Errorf("warnings %q, want one saying the store did not answer", r.Warnings)
	}
	e.clock.Add(time.Minute)
	_, err := e.ensure(t, Options{})
	if KindOf(err) != KindTemporary || !strings.Contains(HintOf(err), "token store did not answer") {
		t.Fatalf("Ensure on an expired token with the store down: got %v (hint %q), want temporary", err, HintOf(err))
	}
	e.wantCounts(t, 1, 0)
}
