//go:build !race

package cli

// raceEnabled: this test binary was built with the race detector.
const raceEnabled = false
