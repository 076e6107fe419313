package refresh

import (
	"encoding/json"
	"testing"
	"time"
)

// TestDeviceInterval: the device grant's interval is RFC 8628's whole seconds,
// 5 when absent or unusable, never under a second, and never so long that the
// device code expires before the first poll.
func TestDeviceInterval(t *testing.T) {
	for _, tc := range []struct {
		name     string
		interval string // the JSON value; "" absent
		expires  string
		want     time.Duration
	}{
		{"absent", "", "900", 5 * time.Second},
		{"whole", "3", "900", 3 * time.Second},
		{"whole as a string", `"7"`, "900", 7 * time.Second},
		{"whole with a point", "2.0", "900", 2 * time.Second},
		{"one second", "1", "900", time.Second},
		{"a millisecond", "0.001", "900", 5 * time.Second},
		{"just under a second", "0.999", "900", 5 * time.Second},
		{"not whole", "1.5", "900", 5 * time.Second},
		{"zero", "0", "900", 5 * time.Second},
		{"negative", "-5", "900", 5 * time.Second},
		{"not a number", `"soon"`, "900", 5 * time.Second},
		{"null", "null", "900", 5 * time.Second},
		{"huge", "1e300", "900", maxDeviceInterval},
		{"longer than a minute", "61", "3600", maxDeviceInterval},
		{"longer than half the code's life", "50", "60", 30 * time.Second},
		{"default longer than half the code's life", "", "6", 3 * time.Second},
		{"a code that lives under two seconds", "5", "1", time.Second},
		{"an odd lifetime", "60", "61", 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"device_code":"d","user_code":"u","verification_uri":"https://x/d","expires_in":` + tc.expires
			if tc.interval != "" {
				body += `,"interval":` + tc.interval
			}
			var raw map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body+"}"), &raw); err != nil {
				t.Fatal(err)
			}
			da, err := parseDeviceAuthorization(raw)
			if err != nil {
				t.Fatal(err)
			}
			if da.Interval != tc.want {
				t.Errorf("interval %s, expires_in %s: got %s, want %s", tc.interval, tc.expires, da.Interval, tc.want)
			}
		})
	}
}
