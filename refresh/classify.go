package refresh

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// classify turns a failed exchange into an *Error that says what to do: a refusal
// by the tables of advice.go.
func (m *Manager) classify(err error) error {
	var ee *EndpointError
	var te *TransientError
	switch {
	case errors.As(err, &te):
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(),
			Hint: "the token endpoint is unreachable or failing", Next: NextLater}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindTemporary, Err: err, Msg: "refresh: interrupted", Next: NextLater}
	case errors.As(err, &ee):
		return refusalError(ee, m.creds(), m.geoTokenURL)
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Kind: KindUnexpected, Err: err, Msg: err.Error()}
}

// tlsProblem is a failed TLS connection that no retry fixes — a certificate
// that does not verify, or a port that does not speak TLS (storage.TLSProblem)
// — as a problem of the configuration (KindCredentials), naming the URL and
// what failed; nil for any other error. Retried, it would read as an outage
// for the whole timeout, and a scheduled run would fail the same way for
// ever. u is the URL as messages show it.
func tlsProblem(u string, err error) *Error {
	cause, what := storage.TLSProblem(err)
	if cause == storage.TLSNone {
		return nil
	}
	host := u
	if pu, perr := url.Parse(u); perr == nil && pu.Host != "" {
		host = pu.Host
	}
	hint := "if " + host + " uses a private or self-signed certificate authority, set SSL_CERT_FILE to a PEM file of its certificate (SSL_CERT_DIR to a directory of them); otherwise something on the way is intercepting TLS"
	switch cause {
	case storage.TLSWrongHost:
		hint = "use the host name the certificate names in the URL (or ask the endpoint's operator for a certificate for " + host + ")"
	case storage.TLSExpired:
		hint = "check this host's clock; if it is right, the endpoint's operator must renew the certificate"
	case storage.TLSPlainHTTP:
		hint = "the URL says https:// but this port speaks plain HTTP: check the URL's scheme and port"
	case storage.TLSNotTLS:
		hint = "check the URL's scheme (https://) and port"
	}
	return &Error{Kind: KindCredentials, Err: err, Next: NextRunAgain,
		Msg:  fmt.Sprintf("refresh: %s: TLS failed: %s (%s)", u, what, redact.Line(scrubURLError(err).Error(), 200)),
		Hint: hint + "; a retry does not fix this"}
}

// isGrantRefusal is a refused grant: RFC 6749's invalid_grant, or a code the
// provider p reads as one (a bad or expired refresh token in its own code)
// whatever "error" came with it.
func isGrantRefusal(ee *EndpointError, p credentials.Provider) bool {
	rd, ok := readBy(p, ee)
	return ee.Code == "invalid_grant" || ok && rd.Class == credentials.RefusedGrant
}

// isClientRefusal is a refusal of the client's own credentials (RFC 6749 §5.2).
func isClientRefusal(err error) bool {
	var ee *EndpointError
	if !errors.As(err, &ee) {
		return false
	}
	return ee.Code == "invalid_client" || ee.Code == "unauthorized_client" || (ee.Code == "" && ee.Status == http.StatusUnauthorized)
}

func describeRefusal(ee *EndpointError) string {
	var parts []string
	if ee.Code != "" {
		parts = append(parts, ee.Code)
	}
	if d := cmp.Or(ee.Description, ee.Message); d != "" {
		parts = append(parts, redact.Line(d, 120))
	}
	s := strings.Join(parts, ": ")
	if ee.ProviderCode != 0 {
		s = strings.TrimSpace(s + fmt.Sprintf(" (code %d)", ee.ProviderCode))
	}
	return s
}

func lockError(err error) error {
	// A record or configuration at fault, or a store that is unavailable:
	// unreadableRecord owns what is said of them.
	if errors.As(err, new(*storage.RecordError)) || errors.As(err, new(*storage.ConfigError)) || errors.Is(err, storage.ErrUnavailable) {
		return unreadableRecord(err, "")
	}
	var lb *storage.LockBusyError
	if errors.As(err, &lb) {
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(),
			Hint: "another process is renewing this profile's token", Next: NextLockWait}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTemporary, Err: err, Msg: "refresh: interrupted while waiting for the lock", Next: NextLater}
	}
	// The lock file cannot be opened or locked: a read-only or full file system, or
	// a directory this user may not write. Nothing was sent, and nothing could be
	// saved either, so this is a failure for now, like a failed save check.
	return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(),
		Hint: "make the state directory writable by this user (or free some disk space); the refresh token was not used", Next: NextRunAgain}
}
