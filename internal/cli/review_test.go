package cli

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReview runs the binary through what a hostile review of the refusal
// memory, the inline outputs and logout found, as subtests sharing one build.
func TestReview(t *testing.T) {
	runWithBinary(t, []binTest{
		{"DeviceTimesOutInPoll", testDeviceTimesOutInPoll},
	})
}

// testDeviceTimesOutInPoll: a device login whose time ran out while a poll
// was under way said the provider "did not answer" (exit 75, as an outage),
// where the person simply did not approve in time: it says the login timed
// out, as when the time runs out between polls.
func testDeviceTimesOutInPoll(t *testing.T, bin string) {
	hp := newHostileProvider(t)
	p := deviceProfile(t, bin, hp)
	hp.handle("/token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() // read to the end: then a client that gives up ends r's context
		select {      // a poll the provider holds until the client gives up
		case <-r.Context().Done():
		case <-time.After(20 * time.Second):
		}
	})
	o := runBounded(t, p, "login", "--wait", "2s")
	if !strings.Contains(o.stderr, "timed out (no approval in 2s)") || strings.Contains(o.stderr, "did not answer") {
		t.Errorf("login --wait 2s with a poll under way at the end: %s, want the login timed out", o)
	}
}
