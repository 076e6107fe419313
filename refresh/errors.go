package refresh

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// Kind says what a failure asks of the caller; the CLI turns it into an exit code.
type Kind int

const (
	KindUnexpected  Kind = iota // a bug or an unforeseen OS error: exit 1
	KindTemporary               // retry later: exit 75
	KindNeedsHuman              // a human must re-authorise: exit 77
	KindCredentials             // credentials missing, incomplete or invalid, or a file of the profile a human must fix: exit 78
)

// Sentinels for callers that act on the kind rather than the message.
var (
	ErrTemporary   = errors.New("temporary failure")
	ErrNeedsHuman  = errors.New("a human must re-authorise")
	ErrCredentials = errors.New("credentials missing, incomplete or invalid")
)

// Error is a failure of the lifecycle with what to do about it. Msg and Hint never
// contain secrets. Hint says, in terms of OAuth and files, what a person must do;
// Next what comes after (run again, wait, report a bug): a program that drives
// the library turns it into its own words (the CLI names its command).
type Error struct {
	Kind Kind
	Msg  string
	Hint string
	Next NextStep
	Err  error
	// Retry: the failure repeats a refusal remembered in the record, and no
	// request was sent; the caller names how a person asks once more
	// (Options.Retry), beside Next.
	Retry bool
}

// NextStep is what a person does once the Hint is followed.
type NextStep int

const (
	NextNone     NextStep = iota
	NextRunAgain          // run the lifecycle again: the fix takes effect at once
	NextLater             // nothing to fix here: run again later (a scheduled run will)
	NextLockWait          // another process holds the lock: run again shortly, or wait longer for it
	NextReport            // a bug: report it
	// A person logs in (a new authorization-code grant, or the device grant on
	// a host without a browser): the caller names how.
	NextLogin
	NextLoginDevice // a person runs the device grant again
	NextLogout      // the logout is tried again later
)

// NextOf returns the Next of the first *Error in err's chain.
func NextOf(err error) NextStep {
	var e *Error
	if errors.As(err, &e) {
		return e.Next
	}
	return NextNone
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() []error {
	errs := []error{e.Err}
	switch e.Kind {
	case KindTemporary:
		errs = append(errs, ErrTemporary)
	case KindNeedsHuman:
		errs = append(errs, ErrNeedsHuman)
	case KindCredentials:
		errs = append(errs, ErrCredentials)
	}
	return errs
}

// KindOf returns the Kind of err: that of the first *Error in its chain, and
// KindCredentials for a credentials file that is missing, unreadable, not JSON or
// incomplete (the credentials package's own errors).
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var fe *credentials.FileError
	var se *credentials.SyntaxError
	var ie *credentials.InvalidError
	if errors.As(err, &fe) || errors.As(err, &se) || errors.As(err, &ie) {
		return KindCredentials
	}
	return KindUnexpected
}

// HintOf returns the hint of the first *Error in err's chain, or "".
func HintOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// EndpointError is a refusal from the token endpoint: an RFC 6749 §5.2 error body,
// a provider's numeric code (Concur's), or a non-standard body (KORE's {"code","message"}). It wraps
// the *oauth2.RetrieveError that x/oauth2 users expect; Error() leaves out the body.
type EndpointError struct {
	URL           string // the token endpoint, without query
	What          string // what URL is, for messages: "" the token endpoint, or "discovery document"
	Status        int
	Code          string // RFC 6749 "error": invalid_grant, invalid_client, …
	Description   string
	URI           string
	ProviderCode  int    // the provider's own numeric "code" (Concur's); 0 when absent
	Message       string // KORE-style "message"
	Geolocation   string // where the user lives (Concur's code 16)
	CorrelationID string // Concur's concur-correlationid header: not a secret, worth logging
	// ClientChallenge: a 401 whose WWW-Authenticate asks the client to
	// authenticate (any scheme but Bearer): RFC 6749 §5.2's invalid_client.
	ClientChallenge bool
	Retrieve        *oauth2.RetrieveError
}

func (e *EndpointError) Error() string {
	var b strings.Builder
	if e.Status == 0 { // no answer of its own: a redirect that was not followed
		fmt.Fprintf(&b, "refresh: %s %s", whatOr(e.What), e.URL)
	} else {
		fmt.Fprintf(&b, "refresh: %s %s answered %d", whatOr(e.What), e.URL, e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if d := cmp.Or(e.Description, e.Message); d != "" {
		fmt.Fprintf(&b, ": %s", redact.Line(d, 200))
	}
	if e.ProviderCode != 0 {
		fmt.Fprintf(&b, " (code %d)", e.ProviderCode)
	}
	if e.CorrelationID != "" {
		fmt.Fprintf(&b, " [concur-correlationid %s]", e.CorrelationID)
	}
	return b.String()
}

func (e *EndpointError) Unwrap() error {
	if e.Retrieve == nil {
		return nil
	}
	return e.Retrieve
}

// TransientError is a failure worth retrying: no answer, a timeout, 5xx, 429, or a
// 200 that is not a token (an HTML page from a proxy).
//
// Which of them are retried with the refresh token that was sent (docs/contract.md §2 step 7 and
// "an answer is never retried with a refresh token it may have spent"): no answer,
// a timeout, a reset, 5xx and 429 are — a refresh that did not complete leaves the
// token unspent, and if it did complete, its answer is lost with the successor
// either way, so sending it again loses nothing and often works. A 200 that is not a
// JSON token (a proxy's HTML page, an object without access_token) is too: RFC 6749
// §6 has an endpoint that rotates send the new refresh token, so an answer without
// one spent nothing. A 2xx that names a refresh_token it cannot be read from (a
// number, an object, "") is not retried: the endpoint rotated, to a token we cannot
// read. (A 2xx with a string refresh_token is no failure at all: it is saved,
// whatever else is wrong with it.)
type TransientError struct {
	URL        string
	What       string // what URL is, for messages: "" the token endpoint, or "discovery document"
	Status     int    // 0 when there was no HTTP answer
	RetryAfter time.Duration
	Err        error
	Attempts   int           // attempts made before giving up (Client.Exchange)
	Took       time.Duration // from the first attempt to giving up

	rotated bool // a 2xx naming a refresh_token that could not be read
}

func (e *TransientError) Error() string {
	tries := ""
	if e.Attempts > 1 {
		tries = fmt.Sprintf(" (gave up after %d attempts in %s)", e.Attempts, e.Took.Round(100*time.Millisecond))
	}
	if e.Status != 0 {
		return fmt.Sprintf("refresh: %s %s answered %d: %v%s", whatOr(e.What), e.URL, e.Status, e.Err, tries)
	}
	return fmt.Sprintf("refresh: %s %s: %v%s", whatOr(e.What), e.URL, e.Err, tries)
}

// whatOr is what an error's URL is: the token endpoint unless said.
func whatOr(what string) string {
	if what == "" {
		return "token endpoint"
	}
	return what
}

func (e *TransientError) Unwrap() error { return e.Err }
