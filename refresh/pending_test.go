package refresh

import (
	"testing"
	"time"
)

func TestPendingSupersedes(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	record := func(rt string, at time.Time, refused bool) []byte {
		tok := &Token{AccessToken: "at-" + rt, RefreshToken: rt, ObtainedAt: at, Expiry: at.Add(time.Hour)}
		if refused {
			tok.Refusal = &Refusal{At: at.Add(time.Minute), Refresh: fingerprint(rt)}
		}
		data, err := tok.MarshalFile()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name             string
		pending, current []byte
		want             bool
	}{
		{"the record's refresh token refused since", record("rt-2", t0.Add(time.Hour), false), record("rt-1", t0, true), true},
		{"the record holds a new grant", record("rt-2", t0.Add(time.Hour), false), record("rt-3", t0.Add(2*time.Hour), false), false},
		{"the pending answer is older than the refused record", record("rt-2", t0, false), record("rt-9", t0.Add(24*time.Hour), true), false},
		{"the pending answer holds the refused token", record("rt-1", t0.Add(time.Hour), false), record("rt-1", t0, true), false},
		{"the pending answer has no refresh token", record("", t0.Add(time.Hour), false), record("rt-1", t0, true), false},
		{"the record does not parse", record("rt-2", t0.Add(time.Hour), false), []byte("{"), false},
	}
	for _, tt := range tests {
		if got := PendingSupersedes(tt.pending, tt.current); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
