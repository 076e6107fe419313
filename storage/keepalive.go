package storage

import (
	"context"
	"time"
)

// keepAlive renews a shared store's lock every quarter of its ttl (at least
// 250ms) until stop is closed or renew reports the lock lost, then closes
// done. A renewal that fails otherwise (ok false) is retried after a third
// of that. Each renewal's ctx ends after one period, or as soon as stop is
// closed: Unlock must not wait for a slow renewal.
func keepAlive(ttl time.Duration, stop <-chan struct{}, done chan<- struct{}, renew func(ctx context.Context) (ok, lost bool)) {
	defer close(done)
	every := max(ttl/4, 250*time.Millisecond)
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		ok, lost := renew(ctx)
		cancel()
		if lost {
			return
		}
		wait := every
		if !ok {
			wait = every / 3
		}
		t.Reset(wait)
	}
}
