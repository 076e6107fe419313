package refresh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/oauth2"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// MaxResponseBody caps what is read of any token endpoint answer, as x/oauth2 does.
const MaxResponseBody = 1 << 20

// Defaults for the client's time bounds.
const (
	DefaultTimeout        = 30 * time.Second // all attempts of one exchange
	DefaultRequestTimeout = 15 * time.Second // one attempt, at most half of Timeout
	baseBackoff           = 250 * time.Millisecond
	maxBackoff            = 5 * time.Second
)

// Clock tells the time; tests inject a fake one.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SystemClock is the real clock.
var SystemClock Clock = systemClock{}

// Client talks to token endpoints. It is the only part of tokenkeeper that does.
//
// It does not use x/oauth2's own token round trip: that one stamps the expiry with
// the response's arrival time from the global clock, cannot send Concur's credtype
// with the password grant, keeps no unknown fields, and knows nothing of Concur's
// geolocation and numeric codes. Errors still wrap *oauth2.RetrieveError.
type Client struct {
	HTTP           *http.Client  // nil: a client that follows redirects only on the same host
	Clock          Clock         // nil: SystemClock
	Timeout        time.Duration // bound on all attempts; 0: DefaultTimeout
	RequestTimeout time.Duration // bound on one attempt; 0: DefaultRequestTimeout or half of Timeout, if less
	// Budget, when set, is the run's one deadline (storage.Budget): every
	// exchange ends by it too, the store's operations before it included.
	Budget    *storage.Budget
	UserAgent string
	// UserAgentFunc, when UserAgent is "", gives it for each request sent:
	// a program's version can cost more to look up than a run that finds
	// its token valid, and sends nothing, should pay.
	UserAgentFunc func() string

	// Sleep waits between attempts; nil waits on a real timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, when set, is told of each failed attempt before the wait.
	OnRetry func(attempt int, wait time.Duration, err error)
}

func (c *Client) userAgent() string {
	if c.UserAgent == "" && c.UserAgentFunc != nil {
		return c.UserAgentFunc()
	}
	return c.UserAgent
}

// Request is one exchange at a token endpoint.
type Request struct {
	URL          string
	Form         url.Values // grant_type and grant parameters, without client credentials
	ClientID     string
	ClientSecret string
	AuthStyle    string // "params" or "header"
	// Auth, when set, authenticates the client with a key instead of
	// ClientSecret and AuthStyle (clientauth.go).
	Auth *ClientAuth
	// Once sends the request a single time, never retried: an authorization code
	// is single-use, and a retry after an answer that was lost would replay it.
	Once bool
}

// Exchange sends req, retrying transient failures with exponential backoff and
// jitter (honouring Retry-After) until Timeout runs out. It returns the parsed token,
// an *EndpointError for a refusal, or a *TransientError when retries ran out.
func (c *Client) Exchange(ctx context.Context, req Request) (*Token, error) {
	return retry(c, ctx, req, c.once)
}

// retry makes attempts at req, each bounded by the request timeout, until one
// succeeds or fails other than for now (a *TransientError), or Timeout runs
// out: Exchange at the token endpoint, postForm at the others.
func retry[T any](c *Client, ctx context.Context, req Request, once func(ctx context.Context, req Request, rt time.Duration) (T, error)) (T, error) {
	timeout := orDefault(c.Timeout, DefaultTimeout)
	// One hung attempt must leave time for another: a hang is most often one
	// bad connection or one bad backend behind a load balancer.
	rt := orDefault(c.RequestTimeout, min(DefaultRequestTimeout, timeout/2))
	ctx, stop := c.Budget.Bound(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	for attempt := 1; ; attempt++ {
		areq, err := c.authenticate(req)
		if err != nil {
			var zero T
			return zero, err
		}
		v, err := once(ctx, areq, rt)
		var te *TransientError
		if err == nil || !errors.As(err, &te) || req.Once {
			return v, err
		}
		// A run that gives up says how hard it tried: 30 s of silent retries
		// otherwise read like one slow failure.
		giveUp := func() (T, error) {
			te.Attempts, te.Took = attempt, time.Since(start)
			var zero T
			return zero, err
		}
		if te.rotated && req.Form.Get("refresh_token") != "" {
			// docs/contract.md §2: an answer is never retried with a refresh token it may
			// have spent. The next run sends it again only because it is then
			// the one refresh token there is.
			te.Err = fmt.Errorf("%w; not sent again: the endpoint may have spent the refresh token", te.Err)
			return giveUp()
		}
		wait := max(backoff(attempt), te.RetryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return giveUp()
		}
		if c.OnRetry != nil {
			c.OnRetry(attempt, wait, err)
		}
		if c.sleep(ctx, wait) != nil {
			return giveUp()
		}
	}
}

// backoff is exponential with "equal jitter": half fixed, half random, so that many
// cron jobs failing together do not come back together.
func backoff(attempt int) time.Duration {
	d := baseBackoff << min(attempt-1, 10)
	if d > maxBackoff {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock.Now()
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{CheckRedirect: sameHostRedirect}
}

var errRedirect = errors.New("redirect refused")

// sameHostRedirect follows a redirect only on the same scheme and host: client
// credentials go in the body, and must not be replayed to another server.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return fmt.Errorf("%w: too many", errRedirect)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || req.URL.Host != first.Host {
		return fmt.Errorf("%w to another host (%s)", errRedirect, req.URL.Host)
	}
	return nil
}

// once makes one attempt, bounded by rt.
func (c *Client) once(ctx context.Context, req Request, rt time.Duration) (*Token, error) {
	ctx, cancel := context.WithTimeout(ctx, rt)
	defer cancel()

	u := redact.URL(req.URL)
	secrets := requestSecrets(req)
	start := c.now()
	resp, body, err := c.post(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxResponseBody {
		return nil, &TransientError{URL: u, Status: resp.StatusCode, Err: errors.New("answer larger than 1 MiB, not a token")}
	}
	tok, err := handleResponse(u, resp, body, start, secrets)
	return tok, scrubSecrets(err, req)
}

// post sends req once and reads the answer, never more than the cap plus one
// byte whatever Content-Length says: a hostile or broken endpoint cannot make
// this process hold more than 1 MiB (the caller says what a longer one is).
// The body is closed; a failure to send or to read is scrubbed of req's secrets.
func (c *Client) post(ctx context.Context, req Request) (*http.Response, []byte, error) {
	hreq, err := c.newRequest(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	u := redact.URL(req.URL)
	hc := c.httpClient()
	if req.Auth.TLS() {
		if hc, err = req.Auth.httpClient(hc); err != nil {
			return nil, nil, err
		}
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, nil, scrubSecrets(classifyTransport(u, err), req)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		return nil, nil, &TransientError{URL: u, Status: resp.StatusCode, Err: fmt.Errorf("reading the answer: %w", scrubURLError(err))}
	}
	return resp, body, nil
}

func (c *Client) newRequest(ctx context.Context, req Request) (*http.Request, error) {
	form := url.Values{}
	for k, v := range req.Form {
		form[k] = v
	}
	switch {
	case req.Auth != nil: // the assertion is in the form already (authenticate)
		form.Set("client_id", req.ClientID)
	case req.AuthStyle != "header":
		form.Set("client_id", req.ClientID)
		if req.ClientSecret != "" {
			form.Set("client_secret", req.ClientSecret)
		}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, strings.NewReader(form.Encode()))
	if err != nil {
		// Not wrapped: a *url.Error would show the URL whole, query and all.
		return nil, fmt.Errorf("refresh: token URL %s: %v", redact.URL(req.URL), scrubURLError(err))
	}
	// Concur asks for the media type without a charset parameter.
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	hreq.Header.Set("Accept", "application/json")
	if ua := c.userAgent(); ua != "" {
		hreq.Header.Set("User-Agent", ua)
	}
	if req.AuthStyle == "header" && req.Auth == nil {
		// RFC 6749 §2.3.1: form-encode each part before Basic encoding, as x/oauth2 does.
		hreq.SetBasicAuth(url.QueryEscape(req.ClientID), url.QueryEscape(req.ClientSecret))
	}
	return hreq, nil
}

// handleResponse reads an answer. secrets are the request's: an endpoint may echo
// them, and they are cut out of its text before anything else is done with it.
func handleResponse(u string, resp *http.Response, body []byte, start time.Time, secrets []string) (*Token, error) {
	status := resp.StatusCode
	switch {
	case failingNow(status):
		// Retry-After is read against the real clock: it is about real waiting.
		return nil, &TransientError{URL: u, Status: status, RetryAfter: retryAfter(resp.Header, time.Now()), Err: errors.New(transientSummary(u, resp, body, secrets))}
	case status >= 300 && status < 400:
		loc := redact.Line(redactAll(redact.URL(resp.Header.Get("Location")), secrets), 200)
		return nil, &EndpointError{URL: u, Status: status, Description: "redirect to " + loc + " not followed", Retrieve: retrieveError(resp, body, secrets, "", "", "")}
	case status >= 400:
		return nil, unavailable(endpointError(u, resp, body, secrets), resp)
	}
	tok, err := parseResponse(body, resp.Header.Get("Content-Type"), start)
	if err == nil {
		// The fields a token hands on besides itself (token -o json and env,
		// exec's TOKENKEEPER_API_BASE, status) are the endpoint's text too:
		// one that echoes the client secret into its scope or geolocation
		// saves and hands on none of it.
		for _, f := range []*string{&tok.Scope, &tok.Geolocation, &tok.TokenType} {
			*f = redactAll(*f, secrets)
		}
		return tok, nil
	}
	// Some servers answer 200 with an RFC 6749 error body.
	if e := endpointError(u, resp, body, secrets); e.Code != "" {
		return nil, unavailable(e, resp)
	}
	// A 200 that is not a token — most often an HTML page from a proxy — is transient.
	if sum := bodySummary(resp, body, secrets); strings.HasPrefix(sum, "an HTML page") {
		return nil, &TransientError{URL: u, Status: status, Err: errors.New(sum)}
	}
	// An answer that names a refresh_token, even one that cannot be read, may
	// have rotated the refresh token sent (see Exchange).
	raw, derr := decodeResponse(body, resp.Header.Get("Content-Type"))
	_, rotated := raw["refresh_token"]
	return nil, &TransientError{URL: u, Status: status, rotated: derr == nil && rotated,
		Err: fmt.Errorf("not a token (%v)", err)}
}

// failingNow reports whether an HTTP status says the request failed for now
// and may be sent again as it is: 5xx, 429 (too many requests) and 408 (the
// server, or a proxy, gave up waiting for the request). None of them is an
// answer about what the request carried: a refresh token answered so is not
// dead.
func failingNow(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// unavailable is e, unless it says that the server cannot handle the request
// now (RFC 6749 §4.1.2.1's server_error and temporarily_unavailable, which
// some token endpoints send with a 400, or a 200): then it is a failure for
// now, as a 5xx is, and never a refusal — a refresh token answered so is not
// dead, and a grant answered so is not refused.
func unavailable(e *EndpointError, resp *http.Response) error {
	if e.Code != "server_error" && e.Code != "temporarily_unavailable" {
		return e
	}
	return &TransientError{URL: e.URL, Status: e.Status, RetryAfter: retryAfter(resp.Header, time.Now()), Err: errors.New(describeRefusal(e))}
}

// endpointError reads a refusal: RFC 6749 fields, Concur's code and geolocation,
// or KORE's {"code","message"}.
func endpointError(u string, resp *http.Response, body []byte, secrets []string) *EndpointError {
	e := &EndpointError{URL: u, Status: resp.StatusCode, CorrelationID: redact.Line(redactAll(resp.Header.Get("concur-correlationid"), secrets), 100)}
	if ch := strings.TrimSpace(resp.Header.Get("WWW-Authenticate")); resp.StatusCode == http.StatusUnauthorized && ch != "" {
		scheme, _, _ := strings.Cut(ch, " ")
		e.ClientChallenge = !strings.EqualFold(scheme, "Bearer")
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(bytes.TrimSpace(body), &raw) == nil {
		_ = stringField(raw, "error", &e.Code)
		_ = stringField(raw, "error_description", &e.Description)
		_ = stringField(raw, "error_uri", &e.URI)
		_ = stringField(raw, "message", &e.Message)
		_ = stringField(raw, "geolocation", &e.Geolocation)
		// Concur's codes are its own; KORE's {"code":400,"message":…} repeats
		// the HTTP status, which is no Concur code.
		if f, ok, _ := number(raw, "code"); ok && f > 0 && f < 1e6 && !(int(f) == e.Status && e.Code == "") {
			e.ProviderCode = int(f)
		}
	}
	if e.Code == "" && e.Description == "" && e.Message == "" {
		e.Description = errorBodySummary(resp, body, secrets)
	}
	// Everything here is the endpoint's text and ends up on a terminal or in a
	// log: no secret it echoes, no control characters (escape sequences), no
	// unbounded lengths. Secrets go first, so that a cut never leaves half of one.
	e.Code = redact.Line(redactAll(e.Code, secrets), 64)
	e.Description = redact.Line(redactAll(e.Description, secrets), 300)
	e.URI = redact.Line(redactAll(redact.URL(e.URI), secrets), 200)
	e.Message = redact.Line(redactAll(e.Message, secrets), 300)
	e.Geolocation = redact.Line(e.Geolocation, 200)
	e.Retrieve = retrieveError(resp, body, secrets, e.Code, e.Description, e.URI)
	return e
}

// transientSummary describes a 5xx or 429 answer: the endpoint's own words when it
// sent an error body (Concur's 5xx carry a message, and a correlation id worth
// quoting to its support), else the body's type and size.
func transientSummary(u string, resp *http.Response, body []byte, secrets []string) string {
	e := endpointError(u, resp, body, secrets)
	s := describeRefusal(e)
	if s == "" {
		s = errorBodySummary(resp, body, secrets)
	}
	if e.CorrelationID != "" {
		s += " [concur-correlationid " + e.CorrelationID + "]"
	}
	return s
}

// retrieveError is what x/oauth2 users expect in the chain. Its Body is the
// answer with the request's secrets redacted: RetrieveError.Error() prints the
// body whole when there is no error code (KORE's {"code","message"}, an HTML
// page), and a caller who logs it must not log what the endpoint echoed.
func retrieveError(resp *http.Response, body []byte, secrets []string, code, desc, uri string) *oauth2.RetrieveError {
	if r := redactAll(string(body), secrets); r != string(body) {
		body = []byte(r)
	}
	return &oauth2.RetrieveError{Response: resp, Body: body, ErrorCode: code, ErrorDescription: desc, ErrorURI: uri}
}

// bodySummary describes a body for a message without echoing it, only its type
// and size: a body that is not a known error format may hold anything, secrets
// the endpoint echoes included.
func bodySummary(resp *http.Response, body []byte, secrets []string) string {
	// The request's secrets go first: a cut to 80 could leave half of one.
	ct := redact.Line(redactAll(resp.Header.Get("Content-Type"), secrets), 80)
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	if strings.Contains(ct, "html") {
		return fmt.Sprintf("an HTML page (%d bytes), not a token: a proxy or a wrong tokenURL?", len(body))
	}
	return fmt.Sprintf("%s body of %d bytes", ct, len(body))
}

// errorBodySummary describes the body of an error answer (4xx, 5xx) in no
// format tokenkeeper knows — a 404 page, a gateway's "no such route" — with
// its text: what the endpoint says is what tells a wrong tokenURL from a down
// one. The request's secrets are cut out first, then control characters and
// all but 200 characters: a cut never leaves half a secret. HTML pages and
// binary bodies are described by type and size only.
func errorBodySummary(resp *http.Response, body []byte, secrets []string) string {
	sum := bodySummary(resp, body, secrets)
	if resp.StatusCode < 400 || strings.HasPrefix(sum, "an HTML page") || !utf8.Valid(body) {
		return sum
	}
	if text := redact.Line(redactAll(string(body), secrets), 200); text != "" {
		return sum + ": " + text
	}
	return sum
}

// retryAfter reads Retry-After as seconds or an HTTP date; 0 when absent or bad.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

// classifyTransport turns a failed round trip into a transient error whose text
// carries no URL query (the form is in the body, but be careful anyway).
func classifyTransport(u string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return &TransientError{URL: u, Err: errors.New("no answer in time (timeout)")}
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if e := tlsProblem(u, err); e != nil {
		return e
	}
	if errors.Is(err, errRedirect) {
		return &EndpointError{URL: u, Description: redact.Line(err.Error(), 300) + "; set tokenURL to the final address"}
	}
	return &TransientError{URL: u, Err: err}
}

func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
