package refresh

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// DefaultOutageFor is how long an Outage remembers a token endpoint that did
// not answer.
const DefaultOutageFor = 10 * time.Second

// maxOutageFile caps what is read of an outage file: tokenkeeper writes a few
// hundred bytes, and anything longer is not its own.
const maxOutageFile = 4 << 10

// Outage remembers, for a few seconds, that a token endpoint did not answer
// (no connection, no answer in time, 5xx or 429 until the retries ran out),
// for callers that run the lifecycle many times in a row and wait on each
// run: kubectl runs an exec credential plugin up to six times for one
// command, git asks its credential helper inline. Within that time a request
// to the same URL is not sent: the run fails at once as the first did (or,
// like any renewal that fails for now, hands out a stored access token that
// is still valid). It is consulted only where a request would be sent, after
// the decision: it never hides a valid token nor lifts a remembered refusal.
// A run that needs no request (a token renewed meanwhile by another run) never
// reads it.
//
// The file is written through storage (0600, atomically) and read through
// storage.ReadRecord (a regular file of this user, no link); one that does
// not parse, is longer than 4 KiB, names another URL, or whose times are not
// within For of now (a clock set back, a hand-edited "until") is ignored.
type Outage struct {
	File string        // where it is kept, in the profile's state directory
	For  time.Duration // how long a failure is remembered; 0: DefaultOutageFor
}

// outageRecord is the outage file's JSON.
type outageRecord struct {
	URL   string    `json:"url"`   // a fingerprint of the request's URL: compared, never shown (a query may hold a key)
	At    time.Time `json:"at"`    // when the last attempt gave up
	Error string    `json:"error"` // what it gave up on, as messages showed it
}

func (o *Outage) span() time.Duration { return orDefault(o.For, DefaultOutageFor) }

// parseOutage reads an outage file; ok is false for anything tokenkeeper did
// not write.
func parseOutage(data []byte) (r outageRecord, ok bool) {
	if len(data) == 0 || len(data) > maxOutageFile || json.Unmarshal(data, &r) != nil || r.URL == "" || r.At.IsZero() {
		return outageRecord{}, false
	}
	r.Error = redact.Line(r.Error, 300)
	return r, true
}

// check returns the remembered failure of url as a *TransientError, or nil.
func (o *Outage) check(url string, now time.Time) error {
	if o == nil || o.File == "" {
		return nil
	}
	data, err := storage.ReadRecord(o.File)
	if err != nil {
		return nil
	}
	r, ok := parseOutage(data)
	until := r.At.Add(o.span())
	if !ok || r.URL != fingerprint(url) || now.Before(r.At) || !now.Before(until) {
		return nil
	}
	return &TransientError{URL: redact.URL(url), Err: fmt.Errorf("%s (at %s; not asked again before %s)",
		r.Error, r.At.Local().Format(time.TimeOnly), until.Local().Format(time.TimeOnly))}
}

// note remembers the failure of a request to url when it failed for now. A
// failure to write is not reported: the memory only saves time.
func (o *Outage) note(url string, now time.Time, err error) {
	var te *TransientError
	if o == nil || o.File == "" || !errors.As(err, &te) || te.Err == nil {
		return
	}
	cause := te.Err.Error()
	if te.Status != 0 {
		cause = fmt.Sprintf("answered %d: %s", te.Status, cause)
	}
	data, merr := json.Marshal(outageRecord{URL: fingerprint(url), At: now.UTC(), Error: redact.Line(cause, 300)})
	if merr == nil && len(data) <= maxOutageFile {
		_ = storage.ReplaceFile(o.File, data)
	}
}
