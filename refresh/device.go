package refresh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// GrantTypeDeviceCode is RFC 8628's grant type at the token endpoint.
const GrantTypeDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// Bounds of the device grant's polling (RFC 8628 §3.2, §3.5).
const (
	defaultDeviceInterval = 5 * time.Second
	slowDownStep          = 5 * time.Second
	maxDeviceInterval     = time.Minute
	defaultDeviceLifetime = 15 * time.Minute
	// maxDeviceWait bounds the polling when the caller sets no Wait: a device
	// code said to live for years (a broken or hostile answer) must not keep
	// login polling for years. Real codes live 15 to 30 minutes.
	maxDeviceWait = time.Hour
)

// DeviceAuthorization is the device authorization endpoint's answer, without
// the device code (a secret): what the person is shown.
type DeviceAuthorization struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string
	ExpiresIn               time.Duration
	Interval                time.Duration
}

// Device runs the device authorization grant (RFC 8628): it asks for a user
// code, shows where to enter it through cfg.Notify (never opening a browser:
// the person may be on another device), and polls the token endpoint at the
// advertised interval, five seconds slower after each slow_down, until the
// person approves, refuses (access_denied) or the code expires
// (expired_token).
func (c *Client) Device(ctx context.Context, cfg LoginConfig) (*Token, error) {
	if cfg.Endpoints.DeviceAuthorization == "" {
		return nil, errors.New("refresh: the provider has no device authorization endpoint: set deviceAuthURL in credentials.json, or log in with the browser")
	}
	form := url.Values{}
	if cfg.Scope != "" {
		form.Set("scope", cfg.Scope)
	}
	raw, err := c.postForm(ctx, "device authorization endpoint", cfg.request(cfg.Endpoints.DeviceAuthorization, form))
	if err != nil {
		return nil, err
	}
	da, err := parseDeviceAuthorization(raw)
	if err != nil {
		return nil, err
	}
	cfg.notify("to log in, open %s and enter the code %s", da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		cfg.notify("or open %s", da.VerificationURIComplete)
	}
	var code string
	_ = stringField(raw, "device_code", &code)
	return c.pollDevice(ctx, cfg, da, code)
}

func parseDeviceAuthorization(raw map[string]json.RawMessage) (*DeviceAuthorization, error) {
	da := &DeviceAuthorization{}
	var code string
	_ = stringField(raw, "device_code", &code)
	_ = stringField(raw, "user_code", &da.UserCode)
	_ = stringField(raw, "verification_uri", &da.VerificationURI)
	if da.VerificationURI == "" {
		_ = stringField(raw, "verification_url", &da.VerificationURI) // Google's name
	}
	_ = stringField(raw, "verification_uri_complete", &da.VerificationURIComplete)
	if code == "" || da.UserCode == "" || da.VerificationURI == "" {
		return nil, &deviceAnswerError{"refresh: the device authorization answer lacks device_code, user_code or verification_uri"}
	}
	// The person types their password where verification_uri sends them:
	// an authorization endpoint's rule holds for it (https, or http on a
	// loopback host). A javascript: or file: URL, or http:// across the
	// network, is never shown. verification_uri_complete carries the user
	// code: shown only when it passes the rule too, on verification_uri's
	// own host; else the person types the code at verification_uri.
	if credentials.TokenURLProblem(da.VerificationURI) != "" {
		return nil, &deviceAnswerError{fmt.Sprintf("refresh: the device authorization answer's verification_uri is not an https URL (%s), where a person would be sent to log in; tokenkeeper does not show it", shownScheme(da.VerificationURI))}
	}
	if c := da.VerificationURIComplete; c != "" && (credentials.TokenURLProblem(c) != "" || !sameOrigin(c, da.VerificationURI)) {
		da.VerificationURIComplete = ""
	}
	da.UserCode = redact.Line(da.UserCode, 64)
	da.VerificationURI = redact.Line(da.VerificationURI, 300)
	da.VerificationURIComplete = redact.Line(da.VerificationURIComplete, 400)
	da.ExpiresIn = defaultDeviceLifetime
	if d, ok, _ := lifetime(raw, "expires_in"); ok && d > 0 {
		da.ExpiresIn = d
	}
	da.Interval = deviceInterval(raw, da.ExpiresIn)
	return da, nil
}

// deviceInterval is how long to wait before each poll. RFC 8628 §3.2 gives
// the interval in whole seconds, 5 when absent: an interval under a second
// (0.001 would be a thousand polls a second), not a whole number of seconds,
// or not a number at all is taken as absent. A long one is cut to a minute,
// and to half the device code's lifetime, so that the code is polled at least
// once before it expires (never under a second).
func deviceInterval(raw map[string]json.RawMessage, expiresIn time.Duration) time.Duration {
	d := defaultDeviceInterval
	if f, ok, err := number(raw, "interval"); err == nil && ok && f >= 1 && f == math.Trunc(f) {
		d = time.Duration(min(f, maxDeviceInterval.Seconds())) * time.Second
	}
	return max(min(d, (expiresIn/2).Truncate(time.Second)), time.Second)
}

// pollDevice waits the interval before every poll, the first one included
// (RFC 8628 §3.4: never faster than allowed).
func (c *Client) pollDevice(ctx context.Context, cfg LoginConfig, da *DeviceAuthorization, deviceCode string) (*Token, error) {
	wait := min(da.ExpiresIn, maxDeviceWait)
	if cfg.Wait > 0 {
		wait = min(da.ExpiresIn, cfg.Wait)
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	interval := da.Interval
	form := url.Values{"grant_type": {GrantTypeDeviceCode}, "device_code": {deviceCode}}
	for {
		if err := c.sleep(ctx, interval); err != nil {
			return nil, pollEnded(ctx, wait)
		}
		req := cfg.request(cfg.Endpoints.Token, form)
		req.Once = true // the next poll is the retry
		tok, err := c.Exchange(ctx, req)
		var ee *EndpointError
		var te *TransientError
		switch {
		case err == nil:
			return tok, nil
		case errors.As(err, &ee) && ee.Code == "authorization_pending":
		case errors.As(err, &ee) && ee.Code == "slow_down":
			interval = min(interval+slowDownStep, maxDeviceInterval)
		case errors.As(err, &ee) && (ee.Code == "access_denied" || ee.Code == "expired_token"):
			return nil, &LoginError{Code: ee.Code, Description: ee.Description}
		case errors.As(err, &te) && ctx.Err() == nil:
			// A failure for now: the device code is still good, poll again.
		case ctx.Err() != nil:
			// The time ran out, or the person gave up, while a poll was
			// under way: the provider did answer the earlier polls.
			return nil, pollEnded(ctx, wait)
		default:
			return nil, err
		}
	}
}

// pollEnded is why a device login whose context ended got no token: the
// person did not approve within wait, or the run was interrupted.
func pollEnded(ctx context.Context, wait time.Duration) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &LoginError{Reason: ReasonTimeout + fmt.Sprintf(" (no approval in %s)", wait)}
	}
	return &LoginError{Reason: ReasonInterrupted}
}

// shownScheme is what a refused URL is said to be: its scheme, cleaned, never
// the rest (a query may carry a code).
func shownScheme(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "no scheme"
	}
	return "scheme " + redact.Line(u.Scheme, 20)
}

// deviceAnswerError is a device authorization answer that no person can be
// sent on from: the endpoint is not one that serves people (Login's
// loginError says what to check).
type deviceAnswerError struct{ msg string }

func (e *deviceAnswerError) Error() string { return e.msg }
