package refresh

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// benchTokenFile is a Concur token file as tokenkeeper writes it.
const benchTokenFile = `{
  "access_token": "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYW5kLW1vcmUtYnl0ZXM",
  "token_type": "Bearer",
  "expires_in": "3600",
  "refresh_token": "7e2bc6a1-6f4b-4f0e-9a52-0b3f7c1d2e8f",
  "refresh_expires_in": 4102444800,
  "scope": "openid expense.report.read expense.report.readwrite travel.itinerary.read",
  "id_token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
  "geolocation": "https://us.api.concursolutions.com",
  "companyUUID": "6f1c1f4e-2b8e-4c55-9d8b-2d0f1b9c7a10",
  "obtained_at": "2026-11-21T23:00:00.000Z",
  "expires_at": "2099-11-22T00:00:00Z",
  "refresh_expires_at": "2099-05-21T23:00:00Z",
  "token_url": "https://us.api.concursolutions.com/oauth2/v0/token"
}
`

// BenchmarkCheck is the in-process check path of `tokenkeeper token`: read
// the token file, parse it, decide that it is valid.
func BenchmarkCheck(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, storage.TokenFileName)
	if err := os.WriteFile(path, []byte(benchTokenFile), 0o600); err != nil {
		b.Fatal(err)
	}
	m := &Manager{Paths: storage.Paths{TokenFile: path}}
	now := time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		tok, err := m.Load()
		if err != nil || !tok.Valid(now, DefaultMargin) {
			b.Fatalf("not valid: %v", err)
		}
	}
}

// BenchmarkEnsureValid is the lock-free path of `tokenkeeper token` as the
// command runs it: Manager.Ensure on a valid token (read, parse, Decide, result),
// which BenchmarkCheck's bare Valid leaves out.
func BenchmarkEnsureValid(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, storage.TokenFileName)
	if err := os.WriteFile(path, []byte(benchTokenFile), 0o600); err != nil {
		b.Fatal(err)
	}
	m := &Manager{Paths: storage.Paths{TokenFile: path}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if r, err := m.Ensure(ctx, Options{}); err != nil || r.Action != ActionValid {
			b.Fatalf("not the fast path: %v", err)
		}
	}
}

// BenchmarkParseFile is the parse alone, without the read.
func BenchmarkParseFile(b *testing.B) {
	data := []byte(benchTokenFile)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFile(data); err != nil {
			b.Fatal(err)
		}
	}
}

// benchTokenSource is a Manager's TokenSource over benchTokenFile, warmed by one
// call.
func benchTokenSource(b *testing.B) oauth2.TokenSource {
	dir := b.TempDir()
	path := filepath.Join(dir, storage.TokenFileName)
	if err := os.WriteFile(path, []byte(benchTokenFile), 0o600); err != nil {
		b.Fatal(err)
	}
	m := &Manager{Paths: storage.Paths{TokenFile: path}}
	ts := m.TokenSource()
	if _, err := ts.Token(); err != nil {
		b.Fatal(err)
	}
	return ts
}

// BenchmarkTokenSourceValid is TokenSource().Token() on a valid token: docs/contract.md §6
// wants it within 2x of BenchmarkReuseTokenSourceValid, with 0 allocs/op.
func BenchmarkTokenSourceValid(b *testing.B) {
	ts := benchTokenSource(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReuseTokenSourceValid is the peer: x/oauth2's ReuseTokenSource over a
// static valid token.
func BenchmarkReuseTokenSourceValid(b *testing.B) {
	ts := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{
		AccessToken: "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtYW5kLW1vcmUtYnl0ZXM",
		TokenType:   "Bearer",
		Expiry:      time.Date(2099, 11, 22, 0, 0, 0, 0, time.UTC),
	}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ts.Token(); err != nil {
			b.Fatal(err)
		}
	}
}
