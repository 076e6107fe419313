package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// maxBody caps every answer: a Secret holds a record of at most 1 MiB
// (docs/contract.md §1), base64, plus its metadata; a list of them is capped too
// (Profiles lists names only, in pages).
const maxBody = 4 << 20

// Client speaks the API server's REST API (JSON) with net/http only, as
// kubectl would: the Secrets and Leases of one namespace. It finds the
// server (Connect) on its first request, not before: `token` served from
// the host's read copy reads no kubeconfig.
type Client struct {
	cfg     Config
	connect func() (*Conn, error)

	once sync.Once
	conn *Conn
	err  error
	hc   *http.Client
}

// NewClient makes a client for the store URL's namespace; connect finds
// the API server (Connect) when the first request is sent.
func NewClient(cfg Config, connect func() (*Conn, error)) *Client {
	return &Client{cfg: cfg, connect: connect}
}

// Conn is where the client connects: found on first use.
func (c *Client) Conn() (*Conn, error) {
	c.once.Do(func() {
		c.conn, c.err = c.connect()
		if c.err != nil {
			return
		}
		tr := &http.Transport{
			Proxy:                 nil, // as etcd's: the record is not handed to a proxy
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       c.conn.TLS,
			TLSHandshakeTimeout:   5 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
			ResponseHeaderTimeout: 0, // watch answers late; each call has its own deadline
		}
		// No redirect is followed: one may lead elsewhere, or to plain
		// http, with the bearer token and the record.
		c.hc = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	})
	return c.conn, c.err
}

// Config is the store URL the client was made for.
func (c *Client) Config() Config { return c.cfg }

// Close releases idle connections.
func (c *Client) Close() {
	if c.hc != nil {
		c.hc.CloseIdleConnections()
	}
}

// ErrNotFound is the API server's 404: the object does not exist.
var ErrNotFound = errors.New("kubernetes: not found")

// ErrConflict is the API server's 409: the object changed since the
// resourceVersion the request named (or, on create, it exists).
var ErrConflict = errors.New("kubernetes: conflict (changed since read)")

// StatusError is an answer of the API server that is not a success.
type StatusError struct {
	Code    int    // HTTP status
	Reason  string // metav1.Status reason, e.g. "Forbidden"
	Message string // the server's message, sanitised
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("kubernetes: %s (HTTP %d)", e.Message, e.Code)
}

func (e *StatusError) Is(target error) bool {
	return (target == ErrNotFound && e.Code == http.StatusNotFound) || (target == ErrConflict && e.Code == http.StatusConflict)
}

// UnavailableError is a request the API server did not answer before the
// deadline. It matches storage.ErrUnavailable.
type UnavailableError struct {
	Op   string
	Last error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("kubernetes: %s: the API server did not answer: %v", e.Op, e.Last)
}
func (e *UnavailableError) Unwrap() error        { return e.Last }
func (e *UnavailableError) Is(target error) bool { return target == storage.ErrUnavailable }

// request is one call: verb and resource say, for a 403, what RBAC refused.
type request struct {
	method, path string
	verb         string // RBAC's verb: get, list, watch, create, update, delete
	resource     string // e.g. "secrets", "leases.coordination.k8s.io"
	name         string // the object's name, "" for a collection
	body         any
	accept       string // the Accept header, when not plain JSON
}

// do sends r, retrying a server that is unreachable or overloaded (5xx,
// 429) until ctx ends, and decodes a success into out (when not nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return err
		}
	}
	sent := redact.Sent(body) // the record a Secret carries: a server may echo it
	var last error
	for round := 0; ; round++ {
		data, err := c.attempt(ctx, r, body, sent)
		if err == nil {
			if out == nil {
				return nil
			}
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("kubernetes: %s %s: the answer is not the API server's JSON", r.verb, c.what(r))
			}
			return nil
		}
		if _, cerr := c.Conn(); cerr != nil {
			return cerr
		}
		var ce *storage.ConfigError
		if errors.As(err, &ce) {
			return err
		}
		var se *StatusError
		if errors.As(err, &se) && se.Code != http.StatusTooManyRequests && se.Code < 500 {
			return c.explain(r, se)
		}
		if cause, _ := storage.TLSProblem(err); cause != storage.TLSNone {
			return c.tlsError(err)
		}
		last = err
		wait := min(time.Duration(round+1)*100*time.Millisecond, time.Second)
		if !storage.Sleep(ctx, wait) {
			return &UnavailableError{Op: r.verb + " " + c.what(r), Last: last}
		}
	}
}

// what names the object or collection of r: secrets/tokenkeeper-default in
// namespace NS.
func (c *Client) what(r request) string {
	s := r.resource
	if r.name != "" {
		s += "/" + r.name
	}
	return s + " in namespace " + c.cfg.Namespace
}

func (c *Client) attempt(ctx context.Context, r request, body []byte, sent []string) ([]byte, error) {
	if _, err := c.Conn(); err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, c.conn.Server+r.path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if r.accept != "" {
		req.Header.Set("Accept", r.accept)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tok, err := c.authorize(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // net/http's "Get URL:" repeats what the message names
		}
		return nil, fmt.Errorf("kubernetes: %s: %w", c.conn.Server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %s: %w", c.conn.Server, err)
	}
	if len(data) > maxBody {
		return nil, &StatusError{Code: resp.StatusCode, Message: fmt.Sprintf("answer larger than %d bytes", maxBody)}
	}
	if resp.StatusCode/100 != 2 {
		// A server may echo the header it refused, or the body.
		return nil, statusError(resp.StatusCode, data, redact.Add(nil, append(slices.Clip(sent), tok)...))
	}
	return data, nil
}

// authorize sets the bearer token; a token file is read for every request,
// so that a rotated service account token is used as soon as the kubelet
// writes it.
// It returns the token, for what the server answers to be redacted of it.
func (c *Client) authorize(req *http.Request) (string, error) {
	tok := c.conn.Token
	if tok == "" && c.conn.TokenFile != "" {
		b, err := storage.ReadFile(c.conn.TokenFile)
		if err != nil {
			return "", &storage.ConfigError{Msg: fmt.Sprintf("kubernetes: token file %s: %v", c.conn.TokenFile, err), Err: err}
		}
		tok = strings.TrimSpace(string(b))
	}
	// Any control character, not only a line break: net/http refuses the
	// header, and its error would read as an API server that did not
	// answer (75, retried for ever) when the file is to be fixed.
	if strings.IndexFunc(tok, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		where := c.conn.Source
		if c.conn.Token == "" && c.conn.TokenFile != "" {
			where = "token file " + c.conn.TokenFile
		}
		return "", &storage.ConfigError{Msg: "kubernetes: " + where + ": the bearer token holds a control character (a line break, a NUL, an escape)",
			Hint: "put the token alone on one line, as the API server issued it"}
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return tok, nil
}

// statusError reads a metav1.Status, hiding secrets in its text before it
// is cut: a cut never leaves part of one.
func statusError(code int, data []byte, secrets []string) *StatusError {
	var st struct {
		Message string `json:"message"`
		Reason  string `json:"reason"`
	}
	_ = json.Unmarshal(data, &st)
	msg := st.Message
	if msg == "" {
		msg = http.StatusText(code)
	}
	return &StatusError{Code: code, Reason: redact.Line(redact.Text(st.Reason, secrets), 40), Message: redact.Line(redact.Text(msg, secrets), 300)}
}

// explain turns a refusal no retry fixes into what the user must change:
// a 401 or 403 is a *storage.ConfigError (exit 78) saying which verb on
// which resource RBAC refused and to whom.
func (c *Client) explain(r request, se *StatusError) error {
	if se.Code/100 == 3 {
		return &storage.ConfigError{Err: se,
			Msg:  fmt.Sprintf("kubernetes: %s answered with a redirect (HTTP %d), which tokenkeeper does not follow", c.conn.Server, se.Code),
			Hint: "point the kubeconfig's server at the API server itself (kubectl cluster-info shows it)"}
	}
	switch se.Code {
	case http.StatusNotFound:
		if r.verb == "create" { // what is missing is the namespace
			return &storage.ConfigError{Err: se,
				Msg:  fmt.Sprintf("kubernetes: cannot create %s in namespace %s: %s", r.resource, c.cfg.Namespace, se.Message),
				Hint: fmt.Sprintf("create the namespace (kubectl create namespace %s), or name another in the store URL", c.cfg.Namespace)}
		}
	case http.StatusUnprocessableEntity:
		if r.resource == resSecrets && r.verb == "update" {
			// An immutable Secret, or a type whose rules the record
			// breaks: no retry changes it.
			return &storage.ConfigError{Err: se,
				Msg:  fmt.Sprintf("kubernetes: the API server will not update secrets %s in namespace %s: %s", r.name, c.cfg.Namespace, se.Message),
				Hint: fmt.Sprintf("the Secret %s must take updates (an Opaque Secret, not immutable): only a person can replace it, with the record of the pending answer (see docs/kubernetes.md)", r.name)}
		}
	case http.StatusUnauthorized:
		return &storage.ConfigError{Err: se,
			Msg:  fmt.Sprintf("kubernetes: %s: the API server refused the credentials of %s (HTTP 401)", c.conn.Server, c.conn.Source),
			Hint: "the token or client certificate is wrong or has expired; check it with: kubectl auth whoami"}
	case http.StatusForbidden:
		obj := r.resource
		if r.name != "" {
			obj += " " + r.name
		}
		return &storage.ConfigError{Err: se,
			Msg: fmt.Sprintf("kubernetes: RBAC forbids %s on %s in namespace %s: %s", r.verb, obj, c.cfg.Namespace, se.Message),
			Hint: fmt.Sprintf("grant the account a Role in namespace %s allowing %s on %s (see docs/kubernetes.md); check with: kubectl auth can-i %s %s -n %s",
				c.cfg.Namespace, r.verb, r.resource, r.verb, r.resource, c.cfg.Namespace)}
	}
	return se
}

// tlsError is a TLS failure no retry fixes, as a *storage.ConfigError.
func (c *Client) tlsError(err error) error {
	_, what := storage.TLSProblem(err)
	return &storage.ConfigError{Err: err,
		Msg:  fmt.Sprintf("kubernetes: %s: TLS failed: %s (%s)", c.conn.Server, what, redact.Line(err.Error(), 200)),
		Hint: "the CA of " + c.conn.Source + " must sign the API server's certificate; a retry does not fix this"}
}
