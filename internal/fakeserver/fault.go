package fakeserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is one misbehaviour of the token endpoint, consumed by one request
// (see Server.Fail). Delay comes first; then the first of Hang, Reset,
// HugeBody, Status/Body that is set decides the answer. A Fault with only
// a Delay answers normally, late.
type Fault struct {
	// Status and Body answer instead of the grant: 503, a 200 HTML page,
	// 429 with a Retry-After in Header. Status 0 with a Body means 200; an
	// empty Body means the status text. ContentType defaults to text/html
	// for a body starting with "<", application/json for "{" or "[", else
	// text/plain.
	Status      int
	Body        string
	ContentType string
	Header      http.Header

	// Before, when set, runs when the request has arrived, before anything
	// else: a test changes the world while the request is out (fills the
	// disk the answer is to be saved on). Alone, the request is then
	// answered as usual.
	Before func()

	Delay    time.Duration // real time; cut short when the client gives up
	Hang     bool          // never answer; ends when the client gives up or Close
	Reset    bool          // close the TCP connection with SO_LINGER 0 (RST)
	HugeBody int           // answer 200 with this many bytes of truncated JSON

	// Fields, alone, serves the grant as usual (a rotating server spends the
	// refresh token sent) and then edits its success body: each value, raw
	// JSON, replaces or adds the field; a nil value removes it. Error answers
	// are left alone. It makes the answers that carry a rotated refresh token
	// beside a malformed field.
	Fields map[string]json.RawMessage
}

// patchWriter applies Fault.Fields to a success body. Every answer of this
// package is one writeJSON: one WriteHeader, one Write of a whole object.
type patchWriter struct {
	http.ResponseWriter
	fields map[string]json.RawMessage
	status int
}

func (p *patchWriter) WriteHeader(code int) {
	p.status = code
	p.ResponseWriter.WriteHeader(code)
}

func (p *patchWriter) Write(b []byte) (int, error) {
	if p.status != http.StatusOK {
		return p.ResponseWriter.Write(b)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(b, &body); err != nil {
		panic("fakeserver: patching a body that is not an object: " + err.Error())
	}
	for k, v := range p.fields {
		if v == nil {
			delete(body, k)
		} else {
			body[k] = v
		}
	}
	// Marshal would compact and check the values; they are written as given,
	// malformed ones included, so the body is assembled by hand.
	var out bytes.Buffer
	out.WriteByte('{')
	first := true
	for k, v := range body {
		if !first {
			out.WriteByte(',')
		}
		first = false
		name, _ := json.Marshal(k)
		out.Write(name)
		out.WriteByte(':')
		out.Write(v)
	}
	out.WriteString("}\n")
	if _, err := p.ResponseWriter.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// ProxyErrorHTML is a page like those proxies and gateways put in front of
// token endpoints, for Fault{Status: 200, Body: ProxyErrorHTML}.
const ProxyErrorHTML = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><h1>Bad Gateway</h1><p>The proxy server received an invalid response from an upstream server.</p></body>
</html>
`

// applyFault answers for f and reports whether it did; false means the
// request is to be served normally.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Before != nil {
		f.Before()
	}
	if f.Delay > 0 && !s.sleep(r.Context(), f.Delay) {
		panic(http.ErrAbortHandler) // client gone or server closing
	}
	switch {
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		panic(http.ErrAbortHandler) // drop the connection without answering
	case f.Reset:
		reset(w)
	case f.HugeBody > 0:
		writeHuge(w, f.HugeBody)
	case f.Status != 0 || f.Body != "":
		writeFault(w, f)
	default:
		return false
	}
	return true
}

func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// reset makes the client see "connection reset by peer": with SO_LINGER 0,
// close sends RST instead of FIN.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 or a recorder: abort is the nearest
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

func writeHuge(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	prefix := `{"access_token":"fake-huge-`
	if n <= len(prefix) {
		io.WriteString(w, prefix[:n])
		return
	}
	io.WriteString(w, prefix)
	chunk := []byte(strings.Repeat("a", 32<<10))
	for left := n - len(prefix); left > 0; left -= len(chunk) {
		if _, err := w.Write(chunk[:min(left, len(chunk))]); err != nil {
			return // the client stopped reading, as a capped reader does
		}
	}
}

func writeFault(w http.ResponseWriter, f Fault) {
	status, body := f.Status, f.Body
	if status == 0 {
		status = http.StatusOK
	}
	if body == "" {
		body = http.StatusText(status) + "\n"
	}
	maps.Copy(w.Header(), f.Header)
	ct := f.ContentType
	if ct == "" {
		ct = sniff(body)
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func sniff(body string) string {
	switch t := strings.TrimSpace(body); {
	case strings.HasPrefix(t, "<"):
		return "text/html; charset=utf-8"
	case strings.HasPrefix(t, "{"), strings.HasPrefix(t, "["):
		return "application/json"
	default:
		return "text/plain; charset=utf-8"
	}
}
