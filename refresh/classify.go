package refresh

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// classify turns a failed exchange into an *Error that says what to do. bootstrap
// tells whether the refused grant came from credentials.json (a refusal then needs a
// human) or was a refresh (handled by the caller before it gets here).
func (m *Manager) classify(err error, bootstrap bool) error {
	var ee *EndpointError
	var te *TransientError
	path := m.creds().Path
	switch {
	case errors.As(err, &te):
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(),
			Hint: "the token endpoint is unreachable or failing; run again later (a cron job will)"}
	case errors.Is(err, context.Canceled):
		return &Error{Kind: KindTemporary, Err: err, Msg: "refresh: interrupted"}
	case errors.As(err, &ee):
		return m.classifyRefusal(ee, bootstrap, path)
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	return &Error{Kind: KindUnexpected, Err: err, Msg: err.Error()}
}

func (m *Manager) classifyRefusal(ee *EndpointError, bootstrap bool, path string) error {
	// The advice names "credentials.json"; a cron job's reader needs the path.
	advice := strings.ReplaceAll(ConcurAdvice(ee.ConcurCode), "credentials.json", path)
	switch {
	case ee.ConcurCode == 16:
		// Still "lives elsewhere" after the one retry, or no usable geolocation.
		return &Error{Kind: KindCredentials, Err: ee, Msg: ee.Error(), Hint: m.geolocationHint(ee, path)}
	case ee.ConcurCode == 106:
		return &Error{Kind: KindUnexpected, Err: ee, Msg: ee.Error(), Hint: advice}
	case isClientRefusal(ee) || ee.ConcurCode == 53 || ee.ConcurCode == 59 || ee.ConcurCode == 107:
		return &Error{Kind: KindCredentials, Err: ee, Msg: ee.Error(),
			Hint: withPath(advice, fmt.Sprintf("the client was refused: check appID and clientSecret (and authStyle) in %s", path), path)}
	case ee.ConcurCode == 120:
		return &Error{Kind: KindCredentials, Err: ee, Msg: ee.Error(), Hint: advice}
	case isGrantRefusal(ee) || ee.ConcurCode == 14 || ee.ConcurCode == 5 || ee.ConcurCode == 19 || ee.ConcurCode == 64:
		return &Error{Kind: KindNeedsHuman, Err: ee, Msg: ee.Error(), Hint: m.grantRefusedHint(ee, path)}
	case ee.Code == "invalid_scope":
		return &Error{Kind: KindCredentials, Err: ee, Msg: ee.Error(), Hint: fmt.Sprintf("check scope in %s", path)}
	case ee.Code == "unsupported_grant_type":
		return &Error{Kind: KindCredentials, Err: ee, Msg: ee.Error(), Hint: fmt.Sprintf("this endpoint does not take grantType %q: check grantType in %s", m.creds().GrantType, path)}
	case ee.Status == http.StatusNotFound || ee.Status == http.StatusMethodNotAllowed || (ee.Status >= 300 && ee.Status < 400) || ee.Status == 0:
		return &Error{Kind: KindCredentials, Err: ee, Msg: ee.Error(), Hint: fmt.Sprintf("check tokenURL in %s", path)}
	}
	return &Error{Kind: KindCredentials, Err: ee, Msg: ee.Error(),
		Hint: withPath(advice, fmt.Sprintf("the token endpoint refused the request; check the fields of %s", path), path)}
}

// withPath is Concur's advice for a code with the resolved credentials path (cron
// users need the whole path), or def when there is no advice.
func withPath(advice, def, path string) string {
	if advice == "" {
		return def
	}
	return fmt.Sprintf("%s (%s)", advice, path)
}

// grantRefusedHint says what a human must do when the grant in credentials.json is
// refused: for Concur, a new company request token.
func (m *Manager) grantRefusedHint(ee *EndpointError, path string) string {
	if ee.ConcurCode == 14 {
		return ConcurAdvice(14)
	}
	switch m.creds().GrantType {
	case credentials.GrantPassword:
		why := map[int]string{
			5:  "the company UUID or company request token was refused; ",
			19: "the company request token was refused; ",
			64: "the company request token has expired or was used up; ",
		}[ee.ConcurCode]
		return fmt.Sprintf("%sgenerate a new company request token in Concur's Company Request Token screen and put it in %s (companyRequestToken), then run tokenkeeper refresh", why, path)
	case credentials.GrantRefreshToken:
		return fmt.Sprintf("get a new refresh token from the provider, put it in %s (refreshToken), then run tokenkeeper refresh", path)
	}
	return fmt.Sprintf("the provider refused the client-credentials grant; check the client's grants with the provider and %s", path)
}

// geolocationHint is for Concur's code 16 when the retry at the user's data centre
// was not possible or did not help: the tokenURL must name that data centre.
func (m *Manager) geolocationHint(ee *EndpointError, path string) string {
	if geo, err := geoTokenURL(ee.Geolocation); err == nil {
		return fmt.Sprintf("the user lives in another Concur data centre: set tokenURL in %s to %s", path, geo)
	}
	return fmt.Sprintf("the user lives in another Concur data centre, and the answer named none tokenkeeper can use; set tokenURL in %s to your data centre's token URL", path)
}

// isGrantRefusal is a refused grant: RFC 6749's invalid_grant, or Concur's code 108
// (bad or expired refresh token) whatever "error" came with it.
func isGrantRefusal(ee *EndpointError) bool {
	return ee.Code == "invalid_grant" || ee.ConcurCode == 108
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
	if d := firstNonEmpty(ee.Description, ee.Message); d != "" {
		parts = append(parts, clean(d, 120))
	}
	s := strings.Join(parts, ": ")
	if ee.ConcurCode != 0 {
		s = strings.TrimSpace(s + fmt.Sprintf(" (code %d)", ee.ConcurCode))
	}
	return s
}

func lockError(err error) error {
	var re *storage.RecordError
	if errors.As(err, &re) {
		return recordError(err)
	}
	var lb *storage.LockBusyError
	if errors.As(err, &lb) {
		return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(),
			Hint: "another tokenkeeper is renewing this profile; run again shortly, or raise --lock-timeout"}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTemporary, Err: err, Msg: "refresh: interrupted while waiting for the lock"}
	}
	// The lock file cannot be opened or locked: a read-only or full file system, or
	// a directory this user may not write. Nothing was sent, and nothing could be
	// saved either, so this is a failure for now, like a failed save check.
	return &Error{Kind: KindTemporary, Err: err, Msg: err.Error(),
		Hint: "make the state directory writable by this user (or free some disk space), then run again; the refresh token was not used"}
}

// recordError is a token record (or its lock file) that exists but is no regular
// file of this user: a FIFO, a directory, a device, a dangling link, another
// user's file. Nothing was sent; retrying cannot help, a human must look at it:
// exit 78, like a credentials file that cannot be used.
func recordError(err error) error {
	var re *storage.RecordError
	if !errors.As(err, &re) {
		return err
	}
	return &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Hint: re.Hint}
}
