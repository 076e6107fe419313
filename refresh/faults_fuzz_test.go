package refresh

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// FuzzEndpointError feeds the error-body reader whatever an endpoint might send.
// Whatever it is, the message is one line of printable text, bounded, and holds
// none of the request's secrets; the reader never panics.
func FuzzEndpointError(f *testing.F) {
	seeds, _ := filepath.Glob("../testdata/responses/*error*")
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(400, "application/json", string(data))
	}
	f.Add(401, "application/json", `{"error":"invalid_client","error_description":"secret `+ftClientSecret+` is wrong"}`)
	f.Add(503, "text/html", "<html>\x1b[2J down</html>")
	f.Add(200, "", `{"error":"x","code":1e308,"geolocation":{"a":1}}`)
	f.Add(500, "application/json", `{"code":"16","message":null,"error":["a"]}`)
	f.Add(400, "\b", "{}") // a control character in the Content-Type, which no message may echo
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 100 || status > 999 {
			status = 400
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}}}
		secrets := requestSecrets(ftPasswordRequest("https://x.example/token"))
		for _, msg := range []string{
			endpointError("https://x.example/token", resp, []byte(body), secrets).Error(),
			transientSummary("https://x.example/token", resp, []byte(body), secrets),
		} {
			if strings.IndexFunc(msg, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0 {
				t.Errorf("message holds a non-printable character: %q", msg)
			}
			if len(msg) > 2000 {
				t.Errorf("message is %d bytes long", len(msg))
			}
			for _, s := range secrets {
				if strings.Contains(msg, s) {
					t.Errorf("message holds a secret of the request")
				}
			}
		}
	})
}
