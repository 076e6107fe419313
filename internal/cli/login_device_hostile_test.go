package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestLoginDeviceHostileURIs: where a device authorization answer sends the
// person is shown only when a person may be sent there: https (or http on
// loopback), never javascript:, file: or http:// across the network; and
// verification_uri_complete, which carries the user code, only on
// verification_uri's own host.
func TestLoginDeviceHostileURIs(t *testing.T) {
	bin := binaryTest(t)
	for _, tc := range []struct {
		name, verify, complete string
		code                   int
		hidden                 string
	}{
		{"javascript", "javascript:alert(document.cookie)//", "", exitConfig, "javascript:alert"},
		{"file", "file:///etc/passwd", "", exitConfig, "/etc/passwd"},
		{"clear text across the network", "http://verify.example/device", "", exitConfig, "verify.example"},
		{"complete on another host", "{base}/device", "https://evil.example/device?user_code=WDJB-MJHT", exitNeedsHuman, "evil.example"},
		{"complete as javascript", "{base}/device", "javascript:alert(1)//", exitNeedsHuman, "javascript:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var polls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				base := "http://" + r.Host
				switch r.URL.Path {
				case "/device/code":
					fmt.Fprintf(w, `{"device_code":"dc-secret-0123456789","user_code":"WDJB-MJHT","verification_uri":%q,"verification_uri_complete":%q,"expires_in":60,"interval":1}`,
						strings.ReplaceAll(tc.verify, "{base}", base), tc.complete)
				case "/token":
					polls.Add(1)
					w.WriteHeader(http.StatusBadRequest)
					fmt.Fprint(w, `{"error":"access_denied"}`)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			dir := t.TempDir()
			creds := fmt.Sprintf(`{"grantType": "device_code", "appID": "app", "deviceAuthURL": %q, "tokenURL": %q}`, srv.URL+"/device/code", srv.URL+"/token")
			if err := os.WriteFile(filepath.Join(dir, "credentials.json"), []byte(creds), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "--dir", dir, "login")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
			o := runAll(t, []*exec.Cmd{cmd})[0]
			if o.code != tc.code {
				t.Fatalf("got %s, want exit %d", o, tc.code)
			}
			if strings.Contains(o.stderr, tc.hidden) {
				t.Errorf("%q was shown:\n%s", tc.hidden, o.stderr)
			}
			if tc.code == exitConfig {
				if !strings.Contains(o.stderr, "verification_uri") || !strings.Contains(o.stderr, "hint: deviceAuthURL (or issuer) in "+filepath.Join(dir, "credentials.json")) || polls.Load() != 0 {
					t.Errorf("want a refusal naming verification_uri before any poll (%d polls):\n%s", polls.Load(), o.stderr)
				}
			} else if !strings.Contains(o.stderr, "/device and enter the code WDJB-MJHT") {
				t.Errorf("verification_uri and the code not shown:\n%s", o.stderr)
			}
		})
	}
}
