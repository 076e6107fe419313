package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// A password in the store URL, wherever a confused user put it, is refused
// (exit 2) and never shown: not in text, JSON or verbose messages, whether
// the URL came from --store or TOKENKEEPER_STORE. Passwords may hold ?, /
// and # (which end a URL's host part) or @, or come URL-encoded.
func TestStoreURLPasswordNeverShown(t *testing.T) {
	bin := binaryTest(t)
	const pw = "ssw0rdSECRET"
	dir := t.TempDir()
	for _, u := range []string{
		"etcd://bot:" + pw + "@127.0.0.1:2379",
		"etcd://bot:pa?" + pw + "@127.0.0.1:2379",
		"etcd://bot:pa/" + pw + "@127.0.0.1:2379/prefix",
		"etcds://bot:pa#" + pw + "@127.0.0.1:2379,127.0.0.2:2379?user=bot",
		"etcd://bot:p=a?" + pw + "@127.0.0.1:2379?user=bot",
		"etcd://127.0.0.1:2379?user=bot&password=" + pw,
		"etcd://127.0.0.1:2379?user=bot&pass%77ord=" + pw,
		"etcd://127.0.0.1:2379?user=bot&pass=" + pw,
		"etcd://127.0.0.1:2379?user=bot&" + pw,
		"etcd://127.0.0.1:2379?user=bot&password=" + pw + "%zz",
		// An @ in a query value: what follows it is not a host.
		"etcds://127.0.0.1:2379?user=bot@corp&password=" + pw,
		"etcd://127.0.0.1:2379?password=pa@" + pw,
	} {
		for _, args := range [][]string{
			{"--store", u, "status"},
			{"--store", u, "-v", "--log-format", "json", "token"},
			{"status", "--json"},
		} {
			cmd := exec.Command(bin, append([]string{"--dir", dir}, args...)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TOKENKEEPER_STORE=" + u}
			o := runAll(t, []*exec.Cmd{cmd})[0]
			if o.code != exitUsage || strings.Contains(o.stdout+o.stderr, pw) {
				t.Errorf("URL %q, tokenkeeper %s: %s\nwant exit 2 and the password never shown", u, strings.Join(args, " "), o)
			}
		}
	}
}

// A hostile (or broken) etcd: terminal control sequences in its error
// messages and in the lock holder's name, a 100 MB answer. Nothing of it
// reaches the terminal as a control character, in text or --json, and
// every command ends within --timeout.
func TestStoreHostileEtcd(t *testing.T) {
	bin := binaryTest(t)
	const evil = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u0085"
	var mode atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load().(string) {
		case "escapes":
			if r.URL.Path == "/v3/kv/txn" || r.URL.Path == "/v3/kv/range" {
				holder := base64.StdEncoding.EncodeToString([]byte("host-b " + evil))
				fmt.Fprintf(w, `{"header":{"revision":"7"},"succeeded":true,"responses":[{"response_range":{"kvs":[]}},{"response_range":{"kvs":[{"key":"eA==","value":%q,"lease":"1"}]}}]}`, holder)
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": evil, "message": evil, "code": 3})
		case "error":
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": evil, "message": evil, "code": 3})
		case "huge":
			w.Header().Set("Content-Type", "application/json")
			chunk := bytes.Repeat([]byte(" "), 1<<20)
			w.Write([]byte("{"))
			for range 100 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	creds := `{"tokenURL":"https://127.0.0.1:1/token","grantType":"client_credentials","appID":"a","clientSecret":"s"}`
	if err := os.WriteFile(filepath.Join(dir, "credentials.json"), []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	store := "etcd://" + strings.TrimPrefix(srv.URL, "http://")
	for _, m := range []string{"escapes", "error", "huge"} {
		mode.Store(m)
		for _, args := range [][]string{{"status"}, {"status", "--json"}, {"token"}, {"-v", "--log-format", "json", "token"}, {"store", "pull"}} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			cmd := exec.CommandContext(ctx, bin, append([]string{"--dir", dir, "--store", store, "--timeout", "3s", "--lock-timeout", "5s"}, args...)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
			o := runAll(t, []*exec.Cmd{cmd})[0]
			hung := ctx.Err() != nil
			cancel()
			out := o.stdout + o.stderr
			if hung || strings.ContainsAny(out, "\x1b\x07\u009b\u0085") || strings.Contains(out, "panic") {
				t.Errorf("etcd answering %s, tokenkeeper %s: hung (%v) or printed a control character: %q", m, strings.Join(args, " "), hung, out)
			}
		}
	}
}

// exec's child never inherits the store's password (it is the store's
// credential, not the program's), through the binary.
func TestExecChildHasNoStorePassword(t *testing.T) {
	bin := binaryTest(t)
	srv := newFake(t, fakeserver.Options{})
	dir := t.TempDir()
	writeCredsFile(t, filepath.Join(dir, "credentials.json"), srv.TokenURL(), nil)
	cmd := exec.Command(bin, "--dir", dir, "exec", "--", "env")
	cmd.Env = append(cleanEnv(), storePasswordEnv+"=store-pw-SECRET")
	o := runAll(t, []*exec.Cmd{cmd})[0]
	if o.code != 0 || strings.Contains(o.stdout+o.stderr, "store-pw-SECRET") || !strings.Contains(o.stdout, "TOKENKEEPER_ACCESS_TOKEN=") {
		t.Errorf("exec -- env: %s\nstdout:\n%s", o, o.stdout)
	}
}

// store push without --store is a usage error whose hint carries the
// user's --dir, as every hint does (a.cmdLine).
func TestStorePushWithoutStoreHint(t *testing.T) {
	bin := binaryTest(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "--dir", dir, "store", "push")
	cmd.Env = cleanEnv()
	o := runAll(t, []*exec.Cmd{cmd})[0]
	want := "hint: give the store: tokenkeeper --dir " + shellQuote(dir) + " --store etcd://HOST:PORT[/PREFIX] store push"
	if o.code != exitUsage || !strings.Contains(o.stderr, want) {
		t.Errorf("store push without --store: %s\nwant exit 2 and %q", o, want)
	}
}
