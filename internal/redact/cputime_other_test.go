//go:build !unix

package redact

import "time"

var benchStart = time.Now()

// cpuTime is the time on the clock where no CPU time is at hand.
func cpuTime() time.Duration { return time.Since(benchStart) }
