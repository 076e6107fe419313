package etcd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// maxBody caps every response body: a record is at most 1 MiB (docs/contract.md §1),
// which base64 makes 4/3 of that, plus the envelope.
const maxBody = 2 << 20

// DefaultAttemptTimeout bounds one HTTP request to one member, so that a
// member that accepts connections but does not answer (partitioned, paused)
// costs this much before the next member is tried.
const DefaultAttemptTimeout = 2 * time.Second

// Client speaks etcd's v3 API through its gRPC JSON gateway (served by etcd
// 3.4 and later on the client port) with net/http only. It tries the
// endpoints in order, staying with the last one that answered, and moves on
// when a member is unreachable or answers that it cannot serve (no leader,
// request timed out). Every request is bounded by its context and by
// AttemptTimeout; every body read is capped.
type Client struct {
	cfg            Config
	hc             *http.Client
	AttemptTimeout time.Duration

	mu    sync.Mutex
	cur   int    // index of the endpoint that last answered
	token string // etcd auth token, when cfg.User is set
}

// Config is the configuration the client was made with.
func (c *Client) Config() Config { return c.cfg }

// NewClient makes a client for cfg; it sends nothing until used.
func NewClient(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	tr := &http.Transport{
		Proxy:                 nil, // a store on a private network is never reached through a proxy
		DialContext:           (&net.Dialer{Timeout: DefaultAttemptTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   DefaultAttemptTimeout,
		ResponseHeaderTimeout: 0, // watch answers late; each call has its own deadline
		ForceAttemptHTTP2:     false,
	}
	if cfg.TLS {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = tc
	}
	return &Client{cfg: cfg, hc: &http.Client{Transport: tr}, AttemptTimeout: DefaultAttemptTimeout}, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := storage.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: ca %s: %w", cfg.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd: ca %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		cert, err := loadKeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: client certificate %s, key %s: %w", cfg.CertFile, cfg.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// loadKeyPair is tls.LoadX509KeyPair with both files read through
// storage.ReadFile: a FIFO, device or directory named by cert= or key= is an
// error naming it, never a hang, and a read is capped.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := storage.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := storage.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Error is an answer of etcd that is not a success, e.g.
// "etcdserver: requested lease not found" (gRPC code 5).
type Error struct {
	Endpoint string
	Status   int    // HTTP status
	Code     int    // gRPC status code
	Message  string // etcd's message
}

func (e *Error) Error() string {
	return fmt.Sprintf("etcd: %s: %s (code %d)", e.Endpoint, e.Message, e.Code)
}

// retryable tells whether another member, or the same one a little later,
// may succeed: unavailable (14), deadline exceeded (4), aborted (10), or a
// 5xx without a code.
func (e *Error) retryable() bool {
	switch e.Code {
	case 4, 10, 14:
		return true
	case 0:
		return e.Status >= 500
	}
	return strings.Contains(e.Message, "leader changed") || strings.Contains(e.Message, "no leader")
}

func (e *Error) authExpired() bool {
	return e.Code == 16 || strings.Contains(e.Message, "invalid auth token")
}

// UnavailableError is a request that no member answered before the
// deadline. It matches storage.ErrUnavailable.
type UnavailableError struct {
	Op   string
	Last error // the last member's failure
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("etcd: %s: no member answered: %v", e.Op, e.Last)
}
func (e *UnavailableError) Unwrap() error        { return e.Last }
func (e *UnavailableError) Is(target error) bool { return target == storage.ErrUnavailable }

// call POSTs req as JSON to path on the first member that answers and
// decodes the answer into resp, retrying over the members until ctx ends.
func (c *Client) call(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("etcd: %s: %w", path, err)
	}
	var last error
	reauthed := false
	for round := 0; ; round++ {
		n, start := c.position()
		tlsFailed := 0
		for i := range n {
			ep := (start + i) % n
			err := c.attempt(ctx, ep, path, body, resp)
			if err == nil {
				c.settle(ep)
				return nil
			}
			var ee *Error
			if errors.As(err, &ee) && ee.authExpired() && c.cfg.User != "" && !reauthed {
				reauthed = true
				if aerr := c.authenticate(ctx, ep); aerr != nil {
					return aerr
				}
				if err = c.attempt(ctx, ep, path, body, resp); err == nil {
					c.settle(ep)
					return nil
				}
			}
			if errors.As(err, &ee) && !ee.retryable() {
				return err
			}
			last = err
			if cause, _ := storage.TLSProblem(err); cause != storage.TLSNone {
				tlsFailed++
			}
			if ctx.Err() != nil {
				return &UnavailableError{Op: path, Last: last}
			}
		}
		// No member could be spoken to over TLS as configured: no retry
		// fixes that, and waiting out the timeout would read as an outage.
		if tlsFailed == n {
			return c.tlsError(last)
		}
		// Every member failed: wait a little (an election takes about a
		// second) before the next round.
		wait := min(time.Duration(round+1)*100*time.Millisecond, time.Second)
		if !storage.Sleep(ctx, wait) {
			return &UnavailableError{Op: path, Last: last}
		}
	}
}

func (c *Client) position() (n, start int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cfg.Endpoints), c.cur
}

func (c *Client) settle(ep int) {
	c.mu.Lock()
	c.cur = ep
	c.mu.Unlock()
}

func (c *Client) authToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// attempt is one request to one member, bounded by AttemptTimeout.
func (c *Client) attempt(ctx context.Context, ep int, path string, body []byte, resp any) error {
	if err := c.ensureAuth(ctx, ep); err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, c.AttemptTimeout)
	defer cancel()
	r, err := c.post(actx, ep, path, body)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("etcd: %s%s: %w", c.cfg.Endpoints[ep], path, err)
	}
	if len(data) > maxBody {
		return &Error{Endpoint: c.cfg.Endpoints[ep], Status: r.StatusCode, Message: fmt.Sprintf("answer larger than %d bytes", maxBody)}
	}
	if r.StatusCode != http.StatusOK {
		return answerError(c.cfg.Endpoints[ep], r.StatusCode, data, c.hidden(body))
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return &Error{Endpoint: c.cfg.Endpoints[ep], Status: r.StatusCode, Message: "answer is not etcd's JSON: " + err.Error()}
	}
	return nil
}

func (c *Client) post(ctx context.Context, ep int, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.Endpoints[ep]+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if t := c.authToken(); t != "" {
		req.Header.Set("Authorization", t)
	}
	r, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("etcd: %s: %w", c.cfg.Endpoints[ep], unwrapURLError(err))
	}
	return r, nil
}

// unwrapURLError drops net/http's "Post URL:" wrapping, which repeats the
// endpoint already named.
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil && strings.HasPrefix(err.Error(), "Post ") {
			return inner
		}
	}
	return err
}

// answerError reads an error answer, its message without secrets (hidden,
// from Client.hidden).
func answerError(endpoint string, status int, data []byte, hidden []string) error {
	var e struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Code    int    `json:"code"`
	}
	if json.Unmarshal(data, &e) != nil || (e.Message == "" && e.Error == "") {
		return &Error{Endpoint: endpoint, Status: status, Message: fmt.Sprintf("HTTP %d", status)}
	}
	msg := e.Message
	if msg == "" {
		msg = e.Error
	}
	return &Error{Endpoint: endpoint, Status: status, Code: e.Code, Message: sanitize(redact.Text(msg, hidden))}
}

// hidden is what a member's answer to a request of body must not show, as a
// member may echo what it refused: the password, the auth token sent as the
// Authorization header, and the token record a put carries (redact.Sent).
// They are hidden before the message is cut (sanitize), so that a cut never
// leaves part of one.
func (c *Client) hidden(body []byte) []string {
	return redact.Add(nil, append(redact.Sent(body), c.cfg.Password, c.authToken())...)
}

// sanitize keeps an answer's message printable and short (redact.Line, cut
// at 200 bytes).
func sanitize(s string) string { return redact.Line(s, 200) }

// ensureAuth authenticates at member ep when the client has a user and no
// token yet.
func (c *Client) ensureAuth(ctx context.Context, ep int) error {
	if c.cfg.User != "" && c.authToken() == "" {
		return c.authenticate(ctx, ep)
	}
	return nil
}

func (c *Client) authenticate(ctx context.Context, ep int) error {
	body, _ := json.Marshal(map[string]string{"name": c.cfg.User, "password": c.cfg.Password})
	actx, cancel := context.WithTimeout(ctx, c.AttemptTimeout)
	defer cancel()
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
	r, err := c.post(actx, ep, "/v3/auth/authenticate", body)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	data, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("etcd: authenticate as %s: %w", c.cfg.User, err)
	}
	if r.StatusCode != http.StatusOK {
		err := answerError(c.cfg.Endpoints[ep], r.StatusCode, data, c.hidden(nil))
		var ee *Error
		if errors.As(err, &ee) && !ee.retryable() {
			return fmt.Errorf("etcd: authenticate as %s (password from TOKENKEEPER_STORE_PASSWORD): %w", c.cfg.User, err)
		}
		return err
	}
	var a struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(data, &a); err != nil || a.Token == "" {
		return fmt.Errorf("etcd: authenticate as %s: no token in the answer", c.cfg.User)
	}
	c.mu.Lock()
	c.token = a.Token
	c.mu.Unlock()
	return nil
}

// i64 is an int64 as the gateway writes it: a JSON string ("42"); a bare
// number is accepted too.
type i64 int64

func (n i64) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatInt(int64(n), 10) + `"`), nil
}

func (n *i64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("etcd: bad integer %.40q", string(b))
	}
	*n = i64(v)
	return nil
}

// tlsError is a TLS failure of every member (storage.TLSProblem) as a
// *storage.ConfigError, with what to change in the store URL.
func (c *Client) tlsError(err error) error {
	cause, what := storage.TLSProblem(err)
	hint := "name the certificate authority of the etcd members in the store URL: etcds://…?ca=FILE (a PEM file)"
	switch cause {
	case storage.TLSWrongHost:
		hint = "use the host names the members' certificates name in the store URL"
	case storage.TLSExpired:
		hint = "check this host's clock; if it is right, the members' certificates must be renewed"
	case storage.TLSPlainHTTP, storage.TLSNotTLS:
		hint = "the store URL says etcds:// but the members do not speak TLS on these ports: check the scheme (etcd:// is plain HTTP) and the ports"
	}
	return &storage.ConfigError{Err: err, Hint: hint + "; a retry does not fix this",
		Msg: fmt.Sprintf("etcd: %s: TLS failed: %s (%s)", c.cfg.hostsURL(), what, sanitize(err.Error()))}
}
