//go:build !windows

package testfs

const isWindows = false

// Wine is false: Wine runs Windows programs only.
func Wine() bool { return false }
