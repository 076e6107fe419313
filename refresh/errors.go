package refresh

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"
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
// contain secrets.
type Error struct {
	Kind Kind
	Msg  string
	Hint string
	Err  error
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

// KindOf returns the Kind of err: that of the first *Error in its chain.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
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
// Concur's numeric code, or a non-standard body (KORE's {"code","message"}). It wraps
// the *oauth2.RetrieveError that x/oauth2 users expect; Error() leaves out the body.
type EndpointError struct {
	URL           string // the token endpoint, without query
	Status        int
	Code          string // RFC 6749 "error": invalid_grant, invalid_client, …
	Description   string
	URI           string
	ConcurCode    int    // Concur's "code"; 0 when absent
	Message       string // KORE-style "message"
	Geolocation   string // Concur: where the user lives (code 16)
	CorrelationID string // Concur's concur-correlationid header: not a secret, worth logging
	Retrieve      *oauth2.RetrieveError
}

func (e *EndpointError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "refresh: token endpoint %s answered %d", e.URL, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if d := firstNonEmpty(e.Description, e.Message); d != "" {
		fmt.Fprintf(&b, ": %s", truncate(oneLine(d), 200))
	}
	if e.ConcurCode != 0 {
		fmt.Fprintf(&b, " (code %d)", e.ConcurCode)
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
type TransientError struct {
	URL        string
	Status     int // 0 when there was no HTTP answer
	RetryAfter time.Duration
	Err        error
}

func (e *TransientError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("refresh: token endpoint %s answered %d: %v", e.URL, e.Status, e.Err)
	}
	return fmt.Sprintf("refresh: token endpoint %s: %v", e.URL, e.Err)
}

func (e *TransientError) Unwrap() error { return e.Err }

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// concurAdvice maps Concur's numeric error codes to what a person must do.
var concurAdvice = map[int]string{
	5:   "the company UUID or company request token was refused; generate a new company request token in Concur's Company Request Token screen and put it in credentials.json (companyRequestToken)",
	14:  "the Concur account is locked; contact your Concur administrator",
	16:  "the user lives in another Concur data centre; tokenkeeper retries once there",
	19:  "the company request token was refused; generate a new one in Concur's Company Request Token screen and put it in credentials.json (companyRequestToken)",
	53:  "the company has not enabled this app; a Concur administrator of the company must enable it",
	59:  "the app (appID) is disabled or unknown; check appID and clientSecret in credentials.json and the app's status with SAP Concur",
	64:  "the company request token has expired or was used up; generate a new one in Concur's Company Request Token screen and put it in credentials.json (companyRequestToken)",
	106: "the refresh token was not sent (a bug in tokenkeeper: please report it)",
	107: "this app is not allowed the refresh grant; check the app's grant settings with SAP Concur",
	108: "the refresh token is invalid or expired; tokenkeeper gets a new grant with the company request token",
	120: "credentialType is not accepted; set it to \"authtoken\" in credentials.json",
}

// ConcurAdvice returns the plain-language meaning of a Concur error code, or "".
func ConcurAdvice(code int) string { return concurAdvice[code] }
