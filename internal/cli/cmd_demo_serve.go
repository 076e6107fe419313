package cli

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// demoServeTTL is the life of the served endpoint's access tokens: a few
// minutes of trying, and a renewal to watch without waiting an hour.
const demoServeTTL = 2 * time.Minute

// demoServeOptions are demo --serve's flags, parsed.
type demoServeOptions struct {
	serve  bool
	listen string // "": 127.0.0.1 and a free port
	grant  string // the grantType of the printed document
	fail   string // a fakeserver fail mode, "" none
}

// demoGrants are the grants the printed document may carry.
var demoGrants = []string{credentials.GrantPassword, credentials.GrantClientCredentials,
	credentials.GrantAuthorizationCode, credentials.GrantDeviceCode}

// demoServe runs the demo's endpoint on loopback until SIGINT or SIGTERM.
// Its client secret and password are new at each start, so that a document
// printed for one run works against that run only.
func (a *app) demoServe(o demoServeOptions) int {
	if !slices.Contains(demoGrants, o.grant) {
		return a.usageError(fmt.Sprintf("demo: --grant %q: not a grant the demo serves", o.grant), "use one of "+strings.Join(demoGrants, ", "))
	}
	if o.fail != "" && !slices.Contains(fakeserver.FailModes[:], o.fail) {
		return a.usageError(fmt.Sprintf("demo: --fail %q: not a fail mode", o.fail), "use one of "+strings.Join(fakeserver.FailModes[:], ", "))
	}
	// serve's rule for --listen: one owner of what loopback is.
	addr, err := loopbackAddr(o.listen)
	if err != nil {
		return a.usageError("demo: "+err.Error(), "the demo endpoint binds loopback only: give an address such as 127.0.0.1:8400, or no --listen for a free port")
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		code, hint := listenExit(err), "choose another port"
		if code == exitTemp {
			hint = "stop the other server, or choose another port"
		}
		a.message("error", "demo: "+err.Error(), hint)
		return code
	}
	defer l.Close()
	base := "http://" + l.Addr().String()
	secret, password := "demo-secret-"+rand.Text(), "demo-password-"+rand.Text()
	srv := fakeserver.NewHandler(fakeserver.Options{
		ClientID: "demo-app", ClientSecret: secret, CompanyUUID: "demo-user", RequestToken: password,
		AccessTTL: demoServeTTL, Rotate: true, Style: fakeserver.StyleKeycloak, Consent: true, BaseURL: base,
	})
	srv.SetFailMode(o.fail)
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.HandleFunc("POST "+demoFailPath, func(w http.ResponseWriter, r *http.Request) { a.demoSetFail(w, r, srv, base) })
	hs := &http.Server{Handler: onlyHost(l.Addr().String(), mux), ReadHeaderTimeout: 10 * time.Second}
	done := a.ctx.Done() // installs the signal handler before anyone is told to use the endpoint

	doc := demoDocument(base, o.grant, secret, password)
	out, _ := json.MarshalIndent(doc, "", "  ")
	fmt.Fprintf(a.stdout, "%s\n", out)
	a.demoServeUsage(base, o)

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case <-done:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
		srv.Close()
		a.info("demo endpoint stopped")
		return exitOK
	case err := <-errc:
		srv.Close()
		if errors.Is(err, http.ErrServerClosed) {
			return exitOK
		}
		return a.fail(fmt.Errorf("demo: serve: %w", err))
	}
}

// demoDocument is the credentials.json of grant at the endpoint at base: its
// issuer (the endpoints come from discovery) and what the grant needs.
func demoDocument(base, grant, secret, password string) any {
	type doc struct {
		Issuer       string `json:"issuer"`
		GrantType    string `json:"grantType"`
		AppID        string `json:"appID"`
		ClientSecret string `json:"clientSecret"`
		Username     string `json:"username,omitempty"`
		Password     string `json:"password,omitempty"`
		Scope        string `json:"scope,omitempty"`
	}
	d := doc{Issuer: base, GrantType: grant, AppID: "demo-app", ClientSecret: secret}
	switch grant {
	case credentials.GrantPassword:
		d.Username, d.Password = "demo-user", password
	case credentials.GrantAuthorizationCode, credentials.GrantDeviceCode:
		d.Scope = "openid offline_access"
	}
	return d
}

// demoServeUsage says on stderr how to use the printed document.
func (a *app) demoServeUsage(base string, o demoServeOptions) {
	w := a.stderr
	fmt.Fprintf(w, "tokenkeeper: the demo endpoint runs at %s (its issuer) until interrupted (Ctrl-C or SIGTERM); everything lives in memory.\n", base)
	if o.fail != "" {
		fmt.Fprintf(w, "tokenkeeper: it fails on demand (--fail %s): %s\n", o.fail, demoFailSays(o.fail))
	}
	fmt.Fprintf(w, "The document on stdout is a credentials.json (grantType %s) that works against it: save it as DIR/credentials.json,\n", o.grant)
	again := "tokenkeeper demo --serve"
	if o.grant != credentials.GrantPassword {
		again += " --grant " + o.grant
	}
	if o.listen != "" {
		again += " --listen " + shellQuote(o.listen)
	}
	if o.fail != "" {
		again += " --fail " + o.fail
	}
	fmt.Fprintf(w, "in a directory of its own, readable by you only: (umask 077; %s > DIR/credentials.json), then:\n", again)
	switch o.grant {
	case credentials.GrantAuthorizationCode:
		fmt.Fprintf(w, "    tokenkeeper --dir DIR login            # a browser opens the consent page: approve or deny\n")
		fmt.Fprintf(w, "    tokenkeeper --dir DIR login --device   # open %s%s and approve the code it shows\n", base, fakeserver.DeviceVerifyPath)
		fmt.Fprintf(w, "    tokenkeeper --dir DIR refresh          # a renewal when the access token (2 minutes) runs low\n")
	case credentials.GrantDeviceCode:
		fmt.Fprintf(w, "    tokenkeeper --dir DIR login            # open %s%s and approve the code it shows\n", base, fakeserver.DeviceVerifyPath)
		fmt.Fprintf(w, "    tokenkeeper --dir DIR refresh          # a renewal when the access token (2 minutes) runs low\n")
	default:
		fmt.Fprintf(w, "    tokenkeeper --dir DIR setup --no-input # checks it and gets the first token\n")
		fmt.Fprintf(w, "    tokenkeeper --dir DIR refresh          # the first grant, then a renewal when the access token (2 minutes) runs low\n")
	}
	fmt.Fprintf(w, "    tokenkeeper --dir DIR token            # the access token, for scripts\n")
	fmt.Fprintf(w, "    tokenkeeper --dir DIR status\n")
	if !credentials.Interactive(o.grant) {
		fmt.Fprintf(w, "To try login: tokenkeeper demo --serve --grant authorization_code (or device_code).\n")
	}
	fmt.Fprintf(w, "To see a dead grant or an outage once it works: curl -d mode=refuse %s%s (refresh exits 77; also dead-refresh, outage: 75 once the access token expires; none ends it).\n", base, demoFailPath)
}

// demoFailSays is what a fail mode does, for the user. A switch, not a
// map: a package-level map would be built on every run of the binary.
func demoFailSays(mode string) string {
	switch mode {
	case fakeserver.FailRefuse:
		return "every refresh token, password and client credentials grant is refused (invalid_grant): refresh exits 77, and only a new login helps"
	case fakeserver.FailDeadRefresh:
		return "every refresh token is refused (invalid_grant): a password grant gets a new one, a login grant exits 77"
	case fakeserver.FailOutage:
		return "every token request is answered 503: refresh exits 75 (try again later)"
	}
	return ""
}

// demoFailPath switches the fail mode of a running demo endpoint:
// POST mode=MODE (none ends it), as curl sends it.
const demoFailPath = "/demo/fail"

// demoSetFail sets the fail mode from a POST of mode=MODE. A browser's POST
// from another site carries an Origin, and is refused: a page the user visits
// cannot switch the endpoint (curl sends none).
func (a *app) demoSetFail(w http.ResponseWriter, r *http.Request, srv *fakeserver.Server, base string) {
	if o := r.Header.Get("Origin"); o != "" && o != base {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	mode := r.PostFormValue("mode")
	if mode == "none" {
		mode = fakeserver.FailNone
	} else if !slices.Contains(fakeserver.FailModes[:], mode) {
		http.Error(w, "mode must be one of: none, "+strings.Join(fakeserver.FailModes[:], ", "), http.StatusBadRequest)
		return
	}
	srv.SetFailMode(mode)
	say := "the demo endpoint no longer fails"
	if mode != fakeserver.FailNone {
		say = "the demo endpoint now fails (" + mode + "): " + demoFailSays(mode)
	}
	a.info("%s", say)
	fmt.Fprintln(w, say)
}

// onlyHost refuses a request whose Host is not the listening address: a
// web page whose name was rebound to 127.0.0.1 (DNS rebinding) does not reach
// the endpoint.
func onlyHost(addr string, h http.Handler) http.Handler {
	_, port, _ := net.SplitHostPort(addr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != addr && r.Host != "localhost:"+port {
			http.Error(w, "wrong Host", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}
