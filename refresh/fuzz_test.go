package refresh

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedFiles adds every file of testdata/<dir> to f, through add.
func seedFiles(f *testing.F, dir string, add func(name string, data []byte)) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join(testdata, dir, "*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds in %s: %v", dir, err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(filepath.Base(p), data)
	}
}

// FuzzParseResponse: any body with any content type gives a token or an error,
// never a panic; a token has a usable access token or a refresh token, and survives
// being written and read.
func FuzzParseResponse(f *testing.F) {
	seedFiles(f, "responses", func(name string, data []byte) {
		f.Add(data, "application/json")
		f.Add(data, "")
		if strings.HasSuffix(name, ".txt") {
			f.Add(data, "application/x-www-form-urlencoded")
		}
		if strings.HasSuffix(name, ".html") {
			f.Add(data, "text/html; charset=utf-8")
		}
	})
	f.Add([]byte(`{"access_token":"a","expires_in":1e400}`), "application/json")
	f.Add([]byte(`{"access_token":"a.eyJleHAiOjF9.c"}`), "")
	f.Add([]byte("access_token=a&expires_in=%zz"), "application/x-www-form-urlencoded; charset=utf-8")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		tok, err := ParseResponse(body, contentType, start)
		if err != nil {
			return
		}
		if tok.AccessToken == "" && tok.RefreshToken == "" {
			t.Fatal("token without an access token or a refresh token")
		}
		if why := checkAccessToken(tok.AccessToken); why != "" {
			t.Fatalf("an unusable access token was accepted: %s", why)
		}
		if !tok.ObtainedAt.Equal(start) {
			t.Fatalf("ObtainedAt = %v, want the start", tok.ObtainedAt)
		}
		checkFileRoundTrip(t, tok)
	})
}

// FuzzParseFile: any file content gives a token or an error, never a panic; a
// token that parses survives MarshalFile → ParseFile, and a second rewrite changes
// nothing (the first one only rounds times).
func FuzzParseFile(f *testing.F) {
	seedFiles(f, "tokenfiles", func(_ string, data []byte) { f.Add(data) })
	seedFiles(f, "responses", func(_ string, data []byte) { f.Add(data) })
	f.Add([]byte(`{"access_token":"a","obtained_at":"2026-11-21T23:00:00.123456789+05:00","refresh_expires_in":1800}`))
	f.Add([]byte(`{"access_token":null,"expires_at":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"x":{"deep":[1,2,{"y":"\u00e9"}]}, "access_token":"a"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseFile(data)
		if err != nil {
			return
		}
		checkFileRoundTrip(t, tok)
	})
}

func checkFileRoundTrip(t *testing.T, tok *Token) {
	t.Helper()
	back, first := roundTrip(t, tok)
	assertSameToken(t, back, tok)
	second, err := back.MarshalFile()
	if err != nil {
		t.Fatalf("second MarshalFile: %v", err)
	}
	// Compared as JSON values: an invalid UTF-8 key is written "\ufffd" the
	// first time and as the character itself the second, which is the same.
	if !sameJSON(first, second) {
		t.Fatalf("a second rewrite changed the file:\n%s\n---\n%s", first, second)
	}
	_ = back.Valid(start.Add(time.Hour), DefaultMargin)
	_ = back.RefreshUsable(start)
}

// sameJSON compares two documents as JSON values, numbers as written (a field
// like 1e700 is kept as received, and does not fit a float64).
func sameJSON(a, b []byte) bool {
	decode := func(data []byte) (any, bool) {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var v any
		return v, d.Decode(&v) == nil
	}
	va, oka := decode(a)
	vb, okb := decode(b)
	return oka && okb && reflect.DeepEqual(va, vb)
}
