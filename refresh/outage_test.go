package refresh

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
)

// An outage is remembered for For and no longer, for the URL it was noted
// for only; a file whose time is ahead of the clock (a clock set back, a
// hand-edited file) or that is not tokenkeeper's is ignored.
func TestOutageWindow(t *testing.T) {
	dir := tempDir(t)
	o := &Outage{File: filepath.Join(dir, "endpoint-down.json"), For: 10 * time.Second}
	const u = "https://auth.example.com/token?k=secret-key"
	now := time.Now()
	o.note(u, now, &TransientError{URL: u, Err: errors.New("no answer in time (timeout)")})
	fi, err := os.Stat(o.File)
	if err != nil || modeBitsTell && fi.Mode().Perm() != 0o600 {
		t.Fatalf("outage file: %v, %v; want one of mode 0600", fi, err)
	}
	data, _ := os.ReadFile(o.File)
	if strings.Contains(string(data), "secret-key") || strings.Contains(string(data), "auth.example.com") {
		t.Errorf("the outage file holds the URL: %s", data)
	}
	for _, tt := range []struct {
		name string
		url  string
		at   time.Time
		want bool
	}{
		{"at once", u, now, true},
		{"1 ns before the end", u, now.Add(10*time.Second - 1), true},
		{"at the end", u, now.Add(10 * time.Second), false},
		{"another URL", "https://auth.example.com/token", now, false},
		{"clock set back", u, now.Add(-time.Second), false},
	} {
		err := o.check(tt.url, tt.at)
		var te *TransientError
		if got := errors.As(err, &te); got != tt.want {
			t.Errorf("%s: check = %v, want remembered %v", tt.name, err, tt.want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret-key") || !strings.Contains(err.Error(), "not asked again before")) {
			t.Errorf("%s: %q shows the URL's query, or does not say that nothing was sent", tt.name, err)
		}
	}
	// Not a failure for now: nothing is noted.
	o2 := &Outage{File: filepath.Join(dir, "other.json")}
	o2.note(u, now, &EndpointError{URL: u, Status: 400, Code: "invalid_grant"})
	o2.note(u, now, nil)
	if _, err := os.Stat(o2.File); err == nil {
		t.Error("a refusal or a success was remembered as an outage")
	}
}

// FuzzOutageFile: the outage file is outside input (a file in the state
// directory): no input panics, and what parses is bounded and printable.
func FuzzOutageFile(f *testing.F) {
	f.Add([]byte(`{"url":"b8f83390bf801a73","at":"2026-12-07T17:53:22.470991873Z","error":"no answer in time (timeout)"}`))
	f.Add([]byte(`{"url":"x","at":"3000-01-01T00:00:00Z","error":"\u001b]0;pwned\u0007"}`))
	f.Add([]byte(`{"url":1,"at":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, ok := parseOutage(data)
		if !ok {
			return
		}
		if len(data) > maxOutageFile || r.URL == "" || r.At.IsZero() || len(r.Error) > 400 {
			t.Fatalf("parsed %q into %+v", data, r)
		}
		for _, c := range r.Error {
			if unicode.IsControl(c) {
				t.Fatalf("error text %q holds a control character", r.Error)
			}
		}
	})
}
