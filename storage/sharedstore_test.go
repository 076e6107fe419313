package storage

import (
	"testing"
	"time"
)

func TestLeaseTTL(t *testing.T) {
	for _, tc := range []struct{ timeout, lockTimeout, want time.Duration }{
		{30 * time.Second, 60 * time.Second, 45 * time.Second},
		{30 * time.Second, 45 * time.Second, 44 * time.Second},
		{30 * time.Second, 0, 45 * time.Second},
		{time.Second, 2 * time.Second, MinLeaseTTL},
		{1500 * time.Millisecond, time.Minute, 16 * time.Second},
	} {
		if got := LeaseTTL(tc.timeout, tc.lockTimeout); got != tc.want {
			t.Errorf("LeaseTTL(%s, %s) = %s, want %s", tc.timeout, tc.lockTimeout, got, tc.want)
		}
	}
}
