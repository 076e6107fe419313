package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// TestRedactLongestFirst: a secret that contains another is redacted whole, not
// around the shorter one (which would leave the rest of the longer on screen).
func TestRedactLongestFirst(t *testing.T) {
	a := &app{}
	a.addSecrets("abcd", "xxabcdyy-long-refresh", "abcd") // duplicate, and short first
	got := a.redact("token xxabcdyy-long-refresh and abcd")
	if want := "token [redacted] and [redacted]"; got != want {
		t.Errorf("redact = %q, want %q", got, want)
	}
	// A short secret is redacted only as a whole token: never inside a flag name.
	a.addSecrets("prof")
	if got := a.redact("--profile prof"); got != "--profile [redacted]" {
		t.Errorf("redact = %q, want the short secret redacted only where it stands alone", got)
	}
}

// TestRedactLogHandler: every record, in text and JSON, has secrets cut from its
// message, string and error attributes, values of other types and groups, and
// attributes added with With; secrets learned after the logger was made count.
func TestRedactLogHandler(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			a := &app{}
			log := slog.New(redactHandler{newLogger(&buf, format, true).Handler(), a.redact})
			a.addSecrets("s3cret-one")
			with := log.With("early", "s3cret-one")
			a.addSecrets("s3cret-two") // learned later
			with.Debug("msg s3cret-two",
				"str", "s3cret-two",
				"err", errors.New("failed with s3cret-one"),
				"any", struct{ V string }{"s3cret-two"},
				slog.Group("g", "inner", "s3cret-one"),
				"n", 42)
			out := buf.String()
			if strings.Contains(out, "s3cret") {
				t.Errorf("log holds a secret:\n%s", out)
			}
			if strings.Count(out, "[redacted]") < 6 || !strings.Contains(out, "42") {
				t.Errorf("want six redactions and the number kept:\n%s", out)
			}
		})
	}
}

// panicWriter panics with what it is asked to write, as a buggy writer might.
type panicWriter struct{}

func (panicWriter) Write(p []byte) (int, error) { panic(fmt.Sprintf("cannot write %q", p)) }

// TestPanicRedacted: a panic ends in exit 1 with an internal-error message in
// which the secret it carries is redacted, and a stack for the bug report.
func TestPanicRedacted(t *testing.T) {
	fs := ftFake(t)
	dir := t.TempDir()
	ftCreds(t, dir, fs.TokenURL(), nil)
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--dir", dir, "refresh"}, nil, io.Discard, &stderr); code != exitOK {
		t.Fatalf("refresh exited %d: %s", code, ftMask(stderr.String()))
	}
	data, _ := os.ReadFile(filepath.Join(dir, "refreshTokenObjectFile.json"))
	stderr.Reset()
	code := run(context.Background(), []string{"--dir", dir, "token"}, nil, panicWriter{}, &stderr)
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	out := stderr.String()
	if !strings.Contains(out, `tokenkeeper: internal error: cannot write "[redacted]\n"`) || !strings.Contains(out, "goroutine") {
		t.Errorf("stderr lacks the internal error and the stack:\n%s", ftMask(out))
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && strings.Contains(k, "access_token") {
			if tok := strings.Trim(v, `",`); strings.Contains(out, tok) {
				t.Error("the panic message holds the access token")
			}
		}
	}
}

// TestRedactCredentialEncodings: what the CLI learns from credentials.json is
// hidden in every encoding it is sent in — the HTTP Basic value of appID and
// clientSecret, and the form-encoded secret — not only as typed.
func TestRedactCredentialEncodings(t *testing.T) {
	a := &app{}
	c := &credentials.Credentials{AppID: "app id", ClientSecret: "Zq+ret/odd=chars&x", CompanyRequestToken: "Wq+token/odd"}
	a.addCredentials(c)
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.AppID) + ":" + url.QueryEscape(c.ClientSecret)))
	for _, s := range []string{"Authorization: Basic " + basic, "client_secret=" + url.QueryEscape(c.ClientSecret), "password=" + url.QueryEscape(c.CompanyRequestToken)} {
		if got := a.redact(s); strings.Contains(got, "Zq") || strings.Contains(got, "Wq") || strings.Contains(got, basic[:16]) {
			t.Errorf("redact(%q) = %q, want the secret hidden", s, got)
		}
	}
}

// TestWatchProfileLogRedacted: watch gives each profile its own list of
// secrets; the profile's Manager logs through a handler that redacts with that
// list, not only the parent's (a token a profile's Manager learned was shown
// in its -v lines).
func TestWatchProfileLogRedacted(t *testing.T) {
	var buf bytes.Buffer
	a := &app{ctx: context.Background()}
	a.g.logFormat, a.g.verbose = "text", true
	a.log = slog.New(redactHandler{newLogger(&buf, "text", true).Handler(), a.redact})
	w, err := a.watcher(a.paths, nil, nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Manager.Secrets("profile-secret-token-1234")
	w.Manager.Log.Debug("renewal failed", "err", errors.New("echo profile-secret-token-1234"))
	if out := buf.String(); strings.Contains(out, "profile-secret-token-1234") || !strings.Contains(out, "[redacted]") {
		t.Errorf("the profile's log holds its secret:\n%s", out)
	}
}
