package fakeserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// do posts a password grant with a fresh transport, so that nothing is
// retried on a reused connection, and returns the raw outcome.
func do(ctx context.Context, s *fakeserver.Server) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.TokenURL(), strings.NewReader(passwordForm().Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res, body, err
}

func TestStatusFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       fakeserver.Fault
		status      int
		contentType string
		body        string // prefix
		retryAfter  string
	}{
		{"503 default body", fakeserver.Fault{Status: 503}, 503, "text/plain; charset=utf-8", "Service Unavailable", ""},
		{"429 retry-after", fakeserver.Fault{Status: 429, Header: http.Header{"Retry-After": {"2"}}}, 429, "text/plain; charset=utf-8", "Too Many Requests", "2"},
		{"500 json body", fakeserver.Fault{Status: 500, Body: `{"message":"boom"}`}, 500, "application/json", `{"message"`, ""},
		{"html 200", fakeserver.Fault{Status: 200, Body: fakeserver.ProxyErrorHTML}, 200, "text/html; charset=utf-8", "<!DOCTYPE html>", ""},
		{"body without status", fakeserver.Fault{Body: "oops"}, 200, "text/plain; charset=utf-8", "oops", ""},
		{"explicit content type", fakeserver.Fault{Status: 200, Body: "access_token=x", ContentType: "application/x-www-form-urlencoded"}, 200, "application/x-www-form-urlencoded", "access_token=x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newServer(t, fakeserver.Options{})
			s.Fail(tt.fault)
			res, body, err := do(t.Context(), s)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if !strings.HasPrefix(string(body), tt.body) {
				t.Errorf("body %q, want prefix %q", body, tt.body)
			}
			if got := res.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			assertRecovers(t, s)
		})
	}
}

// assertRecovers checks that the fault was used up and the next request works.
func assertRecovers(t *testing.T, s *fakeserver.Server) {
	t.Helper()
	if n := s.PendingFaults(); n != 0 {
		t.Errorf("%d faults still queued, want 0", n)
	}
	res, _, err := do(t.Context(), s)
	if err != nil {
		t.Fatalf("request after the fault: %v", err)
	}
	if res.StatusCode != 200 {
		t.Errorf("request after the fault: status %d, want 200", res.StatusCode)
	}
}

func TestFaultsInOrder(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	s.Fail(fakeserver.Fault{Status: 502})
	s.Fail(fakeserver.Fault{Status: 504})
	for _, want := range []int{502, 504, 200} {
		res, _, err := do(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != want {
			t.Errorf("status %d, want %d", res.StatusCode, want)
		}
	}
	if got := s.Count("password"); got != 3 {
		t.Errorf("Count(password) = %d, want 3 (faulted requests count)", got)
	}
}

func TestHugeBody(t *testing.T) {
	for _, n := range []int{1, 27, 28, 10 << 20} {
		s, _ := newServer(t, fakeserver.Options{})
		s.Fail(fakeserver.Fault{HugeBody: n})
		res, body, err := do(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 200 || len(body) != n {
			t.Errorf("HugeBody %d: status %d, %d bytes; want 200, %d bytes", n, res.StatusCode, len(body), n)
		}
		if !strings.HasPrefix(`{"access_token":"fake-huge-`, string(body[:min(n, 27)])) {
			t.Errorf("HugeBody %d: body starts %q", n, body[:min(n, 27)])
		}
	}
}

func TestHugeBodyCappedReader(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	s.Fail(fakeserver.Fault{HugeBody: 10 << 20})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.TokenURL(), strings.NewReader(passwordForm().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close() // mid-body: the server must not get stuck writing
	if len(got) != 1<<20 {
		t.Errorf("read %d bytes, want %d", len(got), 1<<20)
	}
	assertRecovers(t, s)
}

func TestReset(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	s.Fail(fakeserver.Fault{Reset: true})
	_, _, err := do(t.Context(), s)
	if err == nil {
		t.Fatal("no error from a reset connection")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got a timeout, want a connection error: %v", err)
	}
	assertRecovers(t, s)
}

func TestHangEndsWithClientContext(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	s.Fail(fakeserver.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, _, err := do(ctx, s)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	assertRecovers(t, s)
}

func TestHangEndsWithClose(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	s.Fail(fakeserver.Fault{Hang: true})
	errc := make(chan error, 1)
	go func() {
		_, _, err := do(context.Background(), s)
		errc <- err
	}()
	for s.PendingFaults() != 0 { // wait until the request is hanging
		time.Sleep(time.Millisecond)
	}
	s.Close() // must not wait for the hanging request forever
	if err := <-errc; err == nil {
		t.Error("hanging request succeeded after Close, want an error")
	}
}

func TestDelay(t *testing.T) {
	t.Run("then answers", func(t *testing.T) {
		s, _ := newServer(t, fakeserver.Options{})
		s.Fail(fakeserver.Fault{Delay: 10 * time.Millisecond})
		res, _, err := do(t.Context(), s)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("delayed request: %v, want 200", err)
		}
	})
	t.Run("then status", func(t *testing.T) {
		s, _ := newServer(t, fakeserver.Options{})
		s.Fail(fakeserver.Fault{Delay: time.Millisecond, Status: 503})
		res, _, err := do(t.Context(), s)
		if err != nil || res.StatusCode != 503 {
			t.Fatalf("delayed fault: %v, want 503", err)
		}
	})
	t.Run("client gives up", func(t *testing.T) {
		s, _ := newServer(t, fakeserver.Options{})
		s.Fail(fakeserver.Fault{Delay: time.Hour})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if _, _, err := do(ctx, s); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want context.DeadlineExceeded", err)
		}
		assertRecovers(t, s)
	})
}

// TestFieldsFault: Fields serves the grant (the request token is checked, a
// token issued) and then edits the success body, malformed values as given.
func TestFieldsFault(t *testing.T) {
	s, _ := newServer(t, fakeserver.Options{})
	s.Fail(fakeserver.Fault{Fields: map[string]json.RawMessage{"expires_in": json.RawMessage(`1e400`), "scope": nil, "x": json.RawMessage(`{"a":1}`)}})
	res, body, err := do(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || res.StatusCode != 200 {
		t.Fatalf("status %d, body not an object: %v", res.StatusCode, err)
	}
	if string(m["expires_in"]) != "1e400" || string(m["x"]) != `{"a":1}` {
		t.Errorf("fields not replaced as given: expires_in %s, x %s", m["expires_in"], m["x"])
	}
	if _, ok := m["scope"]; ok {
		t.Error("scope not removed")
	}
	var at string
	if json.Unmarshal(m["access_token"], &at) != nil || !s.ValidAccessToken(at) {
		t.Error("the grant was not served: no valid access token issued")
	}
	// A refusal is left alone.
	s.SetRequestToken("another")
	s.Fail(fakeserver.Fault{Fields: map[string]json.RawMessage{"access_token": json.RawMessage(`"x"`)}})
	if res, body, err = do(t.Context(), s); err != nil || res.StatusCode != 400 || strings.Contains(string(body), "access_token") {
		t.Errorf("refusal edited: status %d, err %v", res.StatusCode, err)
	}
}
