package cli

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// serveOptions are serve's flags.
type serveOptions struct {
	socket     string // unix socket path
	listen     string // loopback host:port
	secretFile string // where the bearer secret of --listen is written
}

// Limits of serve: a token endpoint for the workloads of one host, not a web
// server.
const (
	serveMaxConns       = 64 // connections served at once; more wait in the kernel's backlog
	serveHeaderTimeout  = 5 * time.Second
	serveIdleTimeout    = 30 * time.Second
	serveMaxHeaderBytes = 8 << 10
	serveShutdown       = 10 * time.Second // in-flight requests get this long after SIGTERM
	serveSecretName     = "serve.secret"   // default --secret-file, in the profile's state directory
)

func serveCommand() *command {
	return &command{
		name: "serve", args: "--socket PATH | --listen 127.0.0.1:PORT", summary: "answer GET /token on a unix socket or a loopback port",
		long: `A token endpoint for containers and sidecars: GET /token answers the JSON of
token -o json (access_token, token_type, expires_at, scope; never the refresh
token), renewing first when needed, one renewal for many callers. The unix
socket is created 0600 (its directory decides who may connect; on Windows,
where the directory's access list makes it private, a missing directory is
made for the user alone and one that lets others in is refused); --listen takes
a loopback address only and wants the bearer secret written 0600 to
--secret-file. SIGINT or SIGTERM: requests in flight finish, the socket and the
secret file are removed, exit 0. When serve cannot listen: 75 when the socket
or port is another server's (free on a later try), 78 when the path, its
directory or the address must be fixed.`,
		example: `tokenkeeper serve --socket /run/tokenkeeper/token.sock
curl --unix-socket /run/tokenkeeper/token.sock http://localhost/token
tokenkeeper serve --listen 127.0.0.1:8181 --secret-file /run/tokenkeeper/secret`,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			var o serveOptions
			fs.StringVar(&o.socket, "socket", "", "serve on a unix socket at `PATH` (created 0600)")
			fs.StringVar(&o.listen, "listen", "", "serve on a loopback `ADDR` (127.0.0.1:PORT) with a bearer secret")
			fs.StringVar(&o.secretFile, "secret-file", "", "where --listen writes its bearer secret (`FILE`; default serve.secret in the profile's state directory)")
			return func(a *app, _ []string) int { return a.serve(o) }
		},
	}
}

// serve answers GET /token with the JSON of `token -o json` on a unix socket
// (mode 0600: its directory decides who may connect) or on a loopback TCP port
// that wants a bearer secret, generated at start and written 0600 to the secret
// file. Every request goes through the Manager: one read of the token file
// (so a token renewed or set aside by another process is seen at once), one
// renewal for any number of callers. SIGINT or SIGTERM stops it: requests in
// flight finish, the socket and the secret file are removed, exit 0.
func (a *app) serve(o serveOptions) int {
	if (o.socket == "") == (o.listen == "") {
		return a.usageError("serve: give one of --socket PATH or --listen 127.0.0.1:PORT",
			a.cmdLine("serve --socket /run/tokenkeeper/token.sock"))
	}
	if o.secretFile != "" && o.listen == "" {
		return a.usageError("serve: --secret-file goes with --listen", "a unix socket needs no secret: its mode and directory decide who may connect")
	}
	if o.socket != "" {
		if err := noSocket(); err != nil {
			return a.usageError("serve: --socket: "+err.Error(), a.cmdLine("serve --listen 127.0.0.1:8181"))
		}
	}
	addr, err := loopbackAddr(o.listen)
	if err != nil {
		return a.usageError("serve: "+err.Error(), a.cmdLine("serve --listen 127.0.0.1:8181")+", or --socket PATH for containers")
	}
	if err := a.requireProfile(); err != nil {
		return a.fail(err)
	}
	var ln net.Listener
	var secret, where string
	var cleanup func()
	if o.socket != "" {
		ln, cleanup, err = listenUnix(o.socket)
		where = "unix socket " + o.socket
	} else {
		ln, secret, cleanup, err = a.listenLoopback(addr, o.secretFile)
		if ln != nil {
			where = "http://" + ln.Addr().String() + "/token"
		}
	}
	if err != nil {
		// "stop the other server" only where another server is in the way:
		// a FIFO, a directory or /dev/zero at the path is no server's.
		hint := "choose another path, or move away what is there"
		if storage.SystemPath(o.socket) || storage.SystemPath(o.secretFile) {
			hint = "choose another path" // never moving what the system needs
		}
		abs, _ := filepath.Abs(o.socket)
		switch {
		case listenExit(err) == exitTemp:
			hint = "choose another path or port, or stop the other server"
		case o.socket != "" && errors.Is(err, fs.ErrNotExist):
			// Created here it would take the umask's mode: who may reach
			// the socket is the person's choice.
			// -p when its parent is missing too: mkdir alone would fail
			// there (-m applies to the last directory only, the socket's).
			mkdir, dir := "mkdir -m 700 ", filepath.Dir(abs)
			if _, err := os.Stat(filepath.Dir(dir)); errors.Is(err, fs.ErrNotExist) {
				mkdir = "mkdir -p -m 700 "
			}
			hint = "create the socket's directory first, for you alone: " + mkdir + shellQuote(dir)
		case o.socket != "" && len(abs) > maxSocketPath:
			hint = fmt.Sprintf("a unix socket's path is at most %d bytes long, and %s is %d: choose a shorter one", maxSocketPath, abs, len(abs))
		}
		a.message("error", "serve: "+err.Error(), hint)
		return listenExit(err)
	}
	defer cleanup()
	h, err := a.newTokenHandler(secret)
	if err != nil {
		return a.fail(err)
	}
	return a.runServer(h, ln, where)
}

// newTokenHandler makes the handler and its Manager. Requests run at once, and
// the app's messages are not made for that: every use of them goes through the
// handler's mutex. The list of secrets locks itself (secretList), so the log,
// which the library writes from any goroutine, redacts as the app does; it is
// made here, before any request can learn a secret.
func (a *app) newTokenHandler(secret string) (*tokenHandler, error) {
	h := &tokenHandler{a: a, secret: secret}
	a.again = "serve tries again on the next request" // the caller's next GET, not cron
	a.addSecrets()
	a.stderr = &lockedWriter{w: a.stderr}
	a.log = slog.New(redactHandler{newLogger(a.stderr, a.g.logFormat, a.g.verbose).Handler(), a.redact})
	m, err := a.manager("tokenkeeper serve", false, false)
	if err != nil {
		return nil, err
	}
	m.LoadCredentials = func() (*credentials.Credentials, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		return a.loadCreds(false)
	}
	h.m = m
	return h, nil
}

// runServer serves until a signal, then shuts down cleanly.
func (a *app) runServer(h *tokenHandler, ln net.Listener, where string) int {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: serveHeaderTimeout,
		ReadTimeout:       serveHeaderTimeout,
		// A request may wait for another process's renewal (the lock) and then
		// for its own (the client's timeout).
		WriteTimeout:   h.requestTimeout() + 5*time.Second,
		IdleTimeout:    serveIdleTimeout,
		MaxHeaderBytes: serveMaxHeaderBytes,
		ErrorLog:       log.New(io.Discard, "", 0), // a client's bad TLS or header is not our error
	}
	// The signal handler goes in before the line that says serve is ready: a
	// supervisor may send SIGTERM the moment it reads it, and the socket and the
	// secret file must still be removed.
	stop := a.ctx.Done()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(limitListener(ln, serveMaxConns)) }()
	h.info("serving access tokens on %s (GET /token)", where)
	select {
	case <-stop:
	case err := <-errc:
		return h.fail(fmt.Errorf("serve: %w", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), serveShutdown)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
	h.info("stopped serving on %s", where)
	return exitOK
}

// loopbackAddr checks --listen: a loopback address only ("" is no --listen).
func loopbackAddr(listen string) (string, error) {
	if listen == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("--listen %q: want 127.0.0.1:PORT", listen)
	}
	bind, ok := refresh.LoopbackBind(host)
	if !ok {
		return "", fmt.Errorf("--listen %q: only a loopback address (127.0.0.1, ::1) is allowed", listen)
	}
	return net.JoinHostPort(bind, port), nil
}

// listenLoopback listens on addr, a loopback address, and writes a new bearer
// secret 0600 to the secret file.
func (a *app) listenLoopback(addr, path string) (net.Listener, string, func(), error) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand's contract since Go 1.24)
	secret := base64.RawURLEncoding.EncodeToString(b)
	if path == "" {
		path = filepath.Join(a.paths.StateDir, serveSecretName)
	}
	path, err := writeSecretFile(path, secret)
	if err != nil {
		return nil, "", nil, err
	}
	a.addSecrets(secret)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		removeSecretFile(path, secret)
		return nil, "", nil, err
	}
	a.info("the bearer secret is in %s (mode 0600); send it as Authorization: Bearer", path)
	return ln, secret, func() {
		ln.Close()
		removeSecretFile(path, secret)
	}, nil
}

// writeSecretFile writes the bearer secret to a new file at path (0600) and
// returns path made absolute. It never writes through a symbolic link and
// never over a file it did not write, so that whoever can plant a link or a
// file at path (a shared directory) cannot make serve replace, and later
// remove, a file of the user's: only a secret file left by a serve that was
// killed is replaced.
func writeSecretFile(path, secret string) (string, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if fi, err := os.Lstat(path); err == nil {
		if !fi.Mode().IsRegular() || !ownFile(path, fi) || !isSecretFile(path, "") {
			return "", fmt.Errorf("--secret-file %s exists and is not a secret file left by tokenkeeper serve; not replacing it", path)
		}
		if err := os.Remove(path); err != nil {
			return "", err
		}
	}
	created, err := storage.CreateFile(path, []byte(secret+"\n")) // O_EXCL: no link followed
	if err == nil && !created {
		err = fmt.Errorf("--secret-file %s was created by another process meanwhile; not replacing it", path)
	}
	return path, err
}

// removeSecretFile removes the secret file if it still holds secret: a file
// put in its place since is not serve's to remove.
func removeSecretFile(path, secret string) {
	if isSecretFile(path, secret) {
		os.Remove(path)
	}
}

// isSecretFile reports whether path is a regular file holding a serve secret
// (one line of 43 base64url characters), secret itself when it is not "".
func isSecretFile(path, secret string) bool {
	// One open that follows no link and takes only a regular file of this user:
	// an Lstat then a read would read a link swapped in between.
	data, err := storage.ReadPrivate(path)
	line, ok := strings.CutSuffix(string(data), "\n")
	if err != nil || !ok || len(line) != 43 || strings.Trim(line, base64URLAlphabet) != "" {
		return false
	}
	return secret == "" || line == secret
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// tokenHandler answers GET /token. The app's messages are shared by
// concurrent requests, so they go through mu.
type tokenHandler struct {
	a      *app
	m      *refresh.Manager
	secret string // "" on a unix socket
	mu     sync.Mutex
	reload atomic.Bool // read credentials.json again before the next request
}

func (h *tokenHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case h.secret != "" && !bearerIs(r, h.secret):
		// The connection is closed after the refusal: a client without the
		// secret must not keep one of the serveMaxConns slots alive with a
		// request every IdleTimeout.
		w.Header().Set("Connection", "close")
		w.Header().Set("WWW-Authenticate", `Bearer realm="tokenkeeper"`)
		h.writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer secret", "send Authorization: Bearer followed by the content of the secret file")
	case r.URL.Path != "/token":
		h.writeError(w, http.StatusNotFound, exitName(exitUsage), "not found: the only path is /token", "GET /token")
	case r.Method != http.MethodGet:
		w.Header().Set("Allow", http.MethodGet)
		h.writeError(w, http.StatusMethodNotAllowed, exitName(exitUsage), "method not allowed: only GET", "GET /token")
	case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
		h.writeError(w, http.StatusRequestEntityTooLarge, exitName(exitUsage), "a request body is not accepted", "GET /token with no body")
	default:
		h.serveToken(w, r)
	}
}

func (h *tokenHandler) serveToken(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), h.requestTimeout())
	defer cancel()
	if h.reload.CompareAndSwap(true, false) {
		// serve outlives edits of credentials.json: after a refusal, the next
		// request reads what the file holds then (a human's fix, say).
		h.m.ReloadCredentials()
	}
	res, err := h.m.Ensure(ctx, refresh.Options{})
	if err != nil {
		if refresh.KindOf(err) != refresh.KindTemporary {
			h.reload.Store(true)
		}
		h.mu.Lock()
		code, hint := h.a.exitOf(err)
		msg := h.a.redact(err.Error())
		hint = h.a.redact(hint)
		h.a.message("error", msg, hint)
		h.mu.Unlock()
		if code == exitTemp {
			w.Header().Set("Retry-After", "30")
		}
		h.writeError(w, exitHTTPStatus(code), exitName(code), msg, hint)
		return
	}
	if res.Action != refresh.ActionValid {
		h.mu.Lock()
		h.a.warnAll(res.Warnings, res.Next)
		h.a.info("%s the access token", res.Action)
		h.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	writeJSON(w, newTokenJSON(res.Token))
}

// serveError is the body of every answer but a token.
type serveError struct {
	Error string `json:"error"`
	Kind  string `json:"kind"` // retry, reauth, credentials, unexpected; usage, unauthorized for the request itself
	Hint  string `json:"hint,omitempty"`
}

func (h *tokenHandler) writeError(w http.ResponseWriter, status int, kind, msg, hint string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	writeJSON(w, serveError{Error: msg, Kind: kind, Hint: hint})
}

func (h *tokenHandler) requestTimeout() time.Duration {
	return h.a.g.lockTimeout + h.a.g.timeout + 5*time.Second
}

func (h *tokenHandler) info(format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.a.info(format, args...)
}

func (h *tokenHandler) fail(err error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.a.fail(err)
}

// bearerIs compares the request's bearer secret in constant time. The
// scheme's name is case-insensitive (RFC 7235 §2.1: "bearer x" is valid).
func bearerIs(r *http.Request, secret string) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare([]byte(got), []byte(secret)) == 1
}

// limitListener accepts at most n connections at once; the others wait in the
// kernel's backlog until one closes.
func limitListener(l net.Listener, n int) net.Listener {
	return &limitedListener{Listener: l, sem: make(chan struct{}, n)}
}

type limitedListener struct {
	net.Listener
	sem chan struct{}
}

func (l *limitedListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitedConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
}

type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
