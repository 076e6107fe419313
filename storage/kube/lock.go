package kube

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// Lock takes the profile's Lease: free (no holderIdentity) or expired, it
// is taken by an update conditional on the resourceVersion read, so that
// of two takers one gets a 409 and goes on waiting; a Lease that does not
// exist is created. A Lease is expired when it has not changed (same
// resourceVersion) for its whole leaseDurationSeconds as measured by this
// process's own clock since it first saw it — never by comparing the
// holder's renewTime with this host's clock, which may be skewed (as
// client-go's leader election judges). A live holder renews it every
// quarter of its duration. A Lease still held when timeout runs out is a
// *storage.LockBusyError. A pending answer is pushed before Lock returns.
func (s *Store) Lock(ctx context.Context, timeout time.Duration, holder string) (storage.Locked, error) {
	l := &locked{s: s, holder: holderIdentity(holder), attempt: fmt.Sprintf("%016x", rand.Uint64())}
	l.Bind(s.files, l.Read, l.save)
	if err := l.acquire(ctx, time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	l.PushPending(ctx)
	return l, nil
}

// annotationAttempt marks the Lease with the attempt that took it.
const annotationAttempt = "tokenkeeper/attempt"

// holderIdentity is what the Lease says of its holder: the lifecycle's
// text (pid, command, since) and, as pods share the Lease, this host's
// name: "pid=1234 cmd=tokenkeeper token since=… on HOST".
func holderIdentity(holder string) string {
	if host, err := osHostname(); err == nil && host != "" {
		holder += " on " + host
	}
	return redact.Line(holder, 200)
}

// locked is the Store while this process holds the Lease.
type locked struct {
	s       *Store
	holder  string
	attempt string // written with our takeover: a lost answer to it is recognised

	mu    sync.Mutex
	lease *lease  // as last written by us
	sec   *secret // the Secret as Read saw it (nil: none)
	// The Lease's end as last renewed, and the Secret's resourceVersion as
	// Read saw it ("": none).
	storage.SharedLock[string]
}

func (l *locked) acquire(ctx context.Context, deadline time.Time) error {
	start := time.Now()
	var lookedRV, holderSeen string
	var durationSeen int32
	// The observation outlives this call: the lifecycle waits in slices.
	l.s.mu.Lock()
	seenRV, seenAt := l.s.seenRV, l.s.seenAt
	l.s.mu.Unlock()
	defer func() {
		l.s.mu.Lock()
		l.s.seenRV, l.s.seenAt = seenRV, seenAt
		l.s.mu.Unlock()
	}()
	busy := func() error {
		b := &storage.LockBusyError{Path: l.s.LockName(), Holder: redact.Line(holderSeen, 200), Waited: time.Since(start)}
		if time.Duration(durationSeen)*time.Second > maxLeaseWaited {
			return l.neverWaitedOut(b, durationSeen)
		}
		return b
	}
	for {
		got, cur, err := l.tryOnce(ctx, seenRV, seenAt)
		if err != nil || got {
			return err
		}
		if cur != nil {
			holderSeen, durationSeen = cur.Spec.HolderIdentity, cur.Spec.LeaseDurationSeconds
			if cur.Metadata.ResourceVersion != seenRV {
				seenRV, seenAt = cur.Metadata.ResourceVersion, time.Now()
			}
			// The Lease changed (taken, renewed): the holder may have
			// saved. The host's read copy is brought up to date, so that
			// the lifecycle, which waits in slices and reads the copy
			// between them, finds a renewed token and leaves without the
			// lock.
			if cur.Metadata.ResourceVersion != lookedRV {
				lookedRV = cur.Metadata.ResourceVersion
				l.refreshCopy(ctx)
			}
		}
		if !time.Now().Before(deadline) {
			return busy()
		}
		// A waiter costs the API server a read per slice: half a second,
		// jittered so that a stampede does not come in step; but no later
		// than the moment the Lease, unchanged, will have expired.
		wait := min(time.Until(deadline), 400*time.Millisecond+rand.N(200*time.Millisecond))
		if cur != nil && cur.Spec.HolderIdentity != "" && cur.Metadata.ResourceVersion == seenRV {
			d := time.Duration(cur.Spec.LeaseDurationSeconds) * time.Second
			wait = min(wait, time.Until(seenAt.Add(d))+10*time.Millisecond)
		}
		if !storage.Sleep(ctx, max(wait, 0)) {
			return ctx.Err()
		}
	}
}

// maxLeaseWaited is the longest Lease a waiter treats as a holder's that
// will run out: tokenkeeper's own last --timeout + 15 s, and no token
// request takes a day.
const maxLeaseWaited = 24 * time.Hour

// neverWaitedOut is busy, when the Lease's holder keeps it for longer than
// any tokenkeeper would (put by a person or a tool): "run again shortly"
// would be wrong for days, so it is for a person to remove (a
// *storage.ConfigError, exit 78), still a busy lock to the waiter, which
// waits for it until its --lock-timeout.
func (l *locked) neverWaitedOut(busy *storage.LockBusyError, seconds int32) error {
	return &storage.ConfigError{Err: busy,
		Msg: fmt.Sprintf("kubernetes: lock %s is held by %s for a Lease of %s (leaseDurationSeconds %d): no tokenkeeper holds one that long",
			busy.Path, cmp.Or(busy.Holder, "another holder"), time.Duration(seconds)*time.Second, seconds),
		Hint: fmt.Sprintf("if no tokenkeeper holds it, delete it: kubectl delete lease %s -n %s", l.s.name, l.s.c.cfg.Namespace)}
}

// refreshCopy reads the Secret into the host's read copy.
func (l *locked) refreshCopy(ctx context.Context) {
	octx, cancel := l.s.bounds.Op(ctx)
	defer cancel()
	_, _, _ = l.s.fetch(octx)
}

// tryOnce reads the Lease and takes it if it is free, expired (unchanged
// since seenAt for its duration) or missing. It returns the Lease as read
// when another holds it.
func (l *locked) tryOnce(ctx context.Context, seenRV string, seenAt time.Time) (bool, *lease, error) {
	octx, cancel := l.s.bounds.Op(ctx)
	defer cancel()
	cur, err := l.s.c.getLease(octx, l.s.name)
	fresh := errors.Is(err, ErrNotFound)
	if err != nil && !fresh {
		return false, nil, fmt.Errorf("kubernetes: lock %s: %w", l.s.LockName(), err)
	}
	if !fresh && cur.Spec.HolderIdentity == l.holder && cur.Metadata.Annotations[annotationAttempt] == l.attempt {
		// Ours already: an earlier attempt of this call took it and its
		// answer was lost (the request was sent again, and met a 409).
		l.lease = cur
		l.Hold(time.Now().Add(l.s.o.LeaseTTL), l.s.o.LeaseTTL, l.renew)
		return true, nil, nil
	}
	if !fresh && cur.Spec.HolderIdentity != "" {
		d := time.Duration(cur.Spec.LeaseDurationSeconds) * time.Second
		expired := cur.Metadata.ResourceVersion == seenRV && !seenAt.IsZero() && time.Since(seenAt) >= d
		if !expired {
			return false, cur, nil
		}
	}
	next := &lease{Metadata: objectMeta{Name: l.s.name, Labels: l.s.c.labels(l.s.o.Profile)}}
	if !fresh {
		next.Metadata = cur.Metadata
		next.Metadata.Annotations = maps.Clone(cur.Metadata.Annotations)
		next.Spec.LeaseTransitions = cur.Spec.LeaseTransitions
		if cur.Spec.HolderIdentity != "" || cur.Spec.AcquireTime != "" {
			next.Spec.LeaseTransitions++
		}
	}
	if next.Metadata.Annotations == nil {
		next.Metadata.Annotations = map[string]string{}
	}
	next.Metadata.Annotations[annotationAttempt] = l.attempt
	ttl := l.s.o.LeaseTTL
	t := now()
	next.Spec.HolderIdentity, next.Spec.LeaseDurationSeconds = l.holder, int32(ttl/time.Second)
	next.Spec.AcquireTime, next.Spec.RenewTime = t, t
	sent := time.Now()
	got, err := l.s.c.putLease(octx, next)
	if errors.Is(err, ErrConflict) {
		return false, nil, nil // another taker was first: read again
	}
	if err != nil {
		return false, nil, fmt.Errorf("kubernetes: lock %s: %w", l.s.LockName(), err)
	}
	l.lease = got
	l.Hold(sent.Add(ttl), ttl, l.renew)
	return true, nil, nil
}

// renew updates the Lease's renewTime, every quarter of its duration
// (storage.SharedLock.Hold), each time conditional on the resourceVersion
// of our last write: a 409 or a 404 means it was taken over or deleted, and
// the lock is lost. The Lease's end is counted from when the renewal was
// sent.
func (l *locked) renew(ctx context.Context) (time.Time, bool, error) {
	l.mu.Lock()
	next := *l.lease
	l.mu.Unlock()
	next.Spec.RenewTime = now()
	sent := time.Now()
	got, err := l.s.c.putLease(ctx, &next)
	if errors.Is(err, ErrConflict) {
		// Changed since our last write: taken over, or our own
		// renewal applied and its answer lost (the request was sent
		// again). The attempt mark tells.
		if cur, gerr := l.s.c.getLease(ctx, l.s.name); gerr == nil && cur.Spec.HolderIdentity == l.holder &&
			cur.Metadata.Annotations[annotationAttempt] == l.attempt {
			got, err = cur, nil
		}
	}
	if err != nil {
		return time.Time{}, errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound), err
	}
	l.mu.Lock()
	l.lease = got
	l.mu.Unlock()
	return sent.Add(l.s.o.LeaseTTL), false, nil
}

// Read re-reads the Secret under the lock and remembers its
// resourceVersion for Save.
func (l *locked) Read(ctx context.Context) ([]byte, error) {
	octx, cancel := l.s.bounds.Op(ctx)
	defer cancel()
	data, sec, err := l.s.fetch(octx)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	seen := ""
	if sec != nil {
		seen = sec.Metadata.ResourceVersion
	}
	l.mu.Lock()
	l.sec = sec
	l.mu.Unlock()
	l.Saw(seen, data)
	return l.Current(seen, data, err)
}

// CheckSavable proves that the record fits a Secret, that the pending file
// could be written, and that the Lease is still ours (one read).
func (l *locked) CheckSavable(ctx context.Context, size int) error {
	if err := l.Reserve(size); err != nil {
		return err
	}
	octx, cancel := l.s.bounds.Op(ctx)
	defer cancel()
	cur, err := l.s.c.getLease(octx, l.s.name)
	if errors.Is(err, ErrNotFound) || (err == nil && cur.Spec.HolderIdentity != l.holder) {
		l.MarkLost()
		return fmt.Errorf("kubernetes: %s: %w", l.s.LockName(), ErrLockLost)
	}
	if err != nil {
		return fmt.Errorf("kubernetes: check %s: %w", l.s.LockName(), err)
	}
	return nil
}

// save is Save (storage.SharedLock.Save, which keeps a failed save in the
// pending file): an update of the Secret's record conditional on the
// resourceVersion Read saw (a create when there was no Secret). It is not
// sent once the Lease may have run out, nor when the Lease, read just
// before, names another holder (Kubernetes has no transaction over the
// Lease and the Secret: see the package comment). A 409 means another
// holder wrote: the Secret is read again, and the save fails unless it
// already holds data (an earlier attempt of ours). It returns the
// resourceVersion it meant to replace.
func (l *locked) save(ctx context.Context, data []byte) (string, error) {
	seen, err := l.Base(ctx)
	if err != nil {
		return seen, err
	}
	l.mu.Lock()
	sec := l.secretFor(data)
	l.mu.Unlock()
	if !time.Now().Before(l.Expires()) {
		return seen, fmt.Errorf("kubernetes: save %s: %w", l.s.Name(), ErrLockLost)
	}
	octx, cancel := l.s.bounds.Save(ctx)
	defer cancel()
	// The Lease read just before the write: a takeover while the token
	// request was out (the long part of a renewal) is caught here. Only a
	// pause between this read and the write escapes it.
	if cur, err := l.s.c.getLease(octx, l.s.name); err != nil || cur.Spec.HolderIdentity != l.holder {
		if err == nil || errors.Is(err, ErrNotFound) {
			l.MarkLost()
			err = ErrLockLost
		}
		return seen, fmt.Errorf("kubernetes: save %s: %w", l.s.Name(), err)
	}
	got, err := l.s.c.putSecret(octx, sec)
	if errors.Is(err, ErrConflict) {
		// Never overwrite: read what is there now.
		cur, rerr := l.s.c.getSecret(octx, l.s.name)
		if rerr != nil || !bytes.Equal(cur.Data[dataKey], data) {
			return seen, fmt.Errorf("kubernetes: save %s: %w", l.s.Name(), ErrRecordChanged)
		}
		got, err = cur, nil
	}
	if err != nil {
		return seen, fmt.Errorf("kubernetes: save %s: %w", l.s.Name(), err)
	}
	l.mu.Lock()
	l.sec = got
	l.mu.Unlock()
	l.Wrote(got.Metadata.ResourceVersion, data)
	l.s.files.WriteCopy(data)
	return seen, nil
}

// secretFor is the Secret to save: the one read, with data as its record,
// its other keys, labels and annotations kept (a Secret made by a
// manifest, a Helm chart or a person keeps what they put there), and this
// store's labels set. Called with l.mu held.
func (l *locked) secretFor(data []byte) *secret {
	sec := &secret{Metadata: objectMeta{Name: l.s.name}}
	if l.sec != nil {
		sec.Type = l.sec.Type
		sec.Metadata.ResourceVersion = l.sec.Metadata.ResourceVersion
		sec.Metadata.Labels = maps.Clone(l.sec.Metadata.Labels)
		sec.Metadata.Annotations = maps.Clone(l.sec.Metadata.Annotations)
		sec.Data = maps.Clone(l.sec.Data)
	}
	if sec.Metadata.Labels == nil {
		sec.Metadata.Labels = map[string]string{}
	}
	maps.Copy(sec.Metadata.Labels, l.s.c.labels(l.s.o.Profile))
	if sec.Data == nil {
		sec.Data = map[string][]byte{}
	}
	sec.Data[dataKey] = data
	return sec
}

// SetAside moves an unreadable record to the Secret
// PREFIX-<profile>.corrupt-<UTC time>.
func (l *locked) SetAside(ctx context.Context, now time.Time) (string, error) {
	return l.SetAsideAs(ctx, "corrupt", now)
}

// SetAsideAs copies the record to the Secret PREFIX-<profile>.<label>-<UTC
// time> (labelled as set aside: refresh --all does not list it), then
// deletes the record's Secret if it is still the version read. Two objects,
// no transaction: a failure between the two leaves the record where it was
// and a copy beside it, never neither.
func (l *locked) SetAsideAs(ctx context.Context, label string, now time.Time) (string, error) {
	seen, data := l.Seen()
	if !time.Now().Before(l.Expires()) {
		return "", fmt.Errorf("kubernetes: set aside %s: %w", l.s.Name(), ErrLockLost)
	}
	aside := l.s.name + "." + label + "-" + now.UTC().Format("20060102t150405.000000000z")
	labels := map[string]string{labelManaged: "tokenkeeper", labelAside: label}
	octx, cancel := l.s.bounds.Save(ctx)
	defer cancel()
	if _, err := l.s.c.putSecret(octx, &secret{Metadata: objectMeta{Name: aside, Labels: labels,
		Annotations: map[string]string{"tokenkeeper/set-aside-from": l.s.name}}, Data: map[string][]byte{dataKey: data}}); err != nil {
		return "", fmt.Errorf("kubernetes: set aside %s: %w", l.s.Name(), err)
	}
	if seen != "" {
		if err := l.s.c.deleteSecret(octx, l.s.name, seen); err != nil {
			if errors.Is(err, ErrConflict) {
				err = ErrRecordChanged
			}
			return "", fmt.Errorf("kubernetes: set aside %s (copied to %s): %w", l.s.Name(), aside, err)
		}
	}
	l.mu.Lock()
	l.sec = nil
	l.mu.Unlock()
	l.Wrote("", nil)
	l.s.files.DropCopy()
	return "k8s://" + l.s.c.cfg.Namespace + "/secrets/" + aside, nil
}

// Unlock stops the renewals and frees the Lease (holderIdentity cleared, if
// it is still the version we wrote); if the API server cannot be told, the
// Lease runs out by itself.
func (l *locked) Unlock() error {
	return l.Release(func(lost bool) error {
		if lost {
			return nil
		}
		l.mu.Lock()
		cur := *l.lease
		l.mu.Unlock()
		cur.Spec.HolderIdentity, cur.Spec.RenewTime = "", ""
		ctx, cancel := l.s.bounds.Release()
		defer cancel()
		if _, err := l.s.c.putLease(ctx, &cur); err != nil && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("kubernetes: unlock %s (the Lease will run out by itself): %w", l.s.LockName(), err)
		}
		return nil
	})
}
