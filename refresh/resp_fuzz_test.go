package refresh

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzRotatedAnswer: a token endpoint's answer to a refresh, with a rotated refresh
// token beside malformed fields (docs/security.md, "Never losing a token": "A
// rotated refresh token is never dropped"; "How a token is judged"). The answer goes through what the lifecycle
// does with it — handleResponse, merge with the stored token, the record written
// within the 64 KiB reservation — and, whatever else is in it:
//
//   - if it is a 2xx JSON object with a non-empty string refresh_token, the record
//     saved holds that refresh token;
//   - the record saved reads back, and its access token is the stored one or a
//     usable one (visible ASCII, not too long);
//   - nothing panics.
func FuzzRotatedAnswer(f *testing.F) {
	seedFiles(f, "responses", func(_ string, data []byte) { f.Add(200, "application/json", data) })
	for _, body := range []string{
		`{"access_token":"at-1","refresh_token":"rt-2","expires_in":1e400}`,
		`{"access_token":"at-1","refresh_token":"rt-2","expires_in":"NaN","refresh_expires_in":"Infinity"}`,
		`{"access_token":"at-1","refresh_token":"rt-2","expires_in":{"a":1},"token_type":["Bearer"]}`,
		`{"access_token":"at\n1","refresh_token":"rt-2","expires_in":-5}`,
		`{"access_token":"at 1","refresh_token":"rt-2","scope":7,"geolocation":{}}`,
		`{"access_token":12,"refresh_token":"rt-2","refresh_expires_in":-1e400}`,
		`{"access_token":"a.eyJleHAiOjF9.c","refresh_token":"rt-2"}`,
		`{"access_token":"a.eyJleHAiOjFlNDAwfQ.c","refresh_token":"rt-2"}`,
		`{"refresh_token":"rt-2","refresh_token":"rt-3"}`,
		`{"refresh_token":"rt-\u00e9\ud800","token_type":"Bearer\r\nX: y"}`,
		"\xef\xbb\xbf{\"refresh_token\":\"rt-bom\"}",
		`{"refresh_token":"rt-2","id_token":"` + strings.Repeat("i", 70_000) + `"}`,
		`{"refresh_token":"` + strings.Repeat("r", 70_000) + `","access_token":"at-1"}`,
		`{"refresh_token":"rt-2","access_token":"` + strings.Repeat("a", maxAccessToken+1) + `"}`,
	} {
		f.Add(200, "application/json", []byte(body))
	}
	f.Add(201, "application/x-www-form-urlencoded", []byte(`{"refresh_token":"rt-json-labelled-form"}`))
	f.Add(200, "application/x-www-form-urlencoded", []byte("refresh_token=rt-2&expires_in=1e400&access_token=a%0Ab"))
	f.Add(200, "text/html", []byte(`<html>refresh_token</html>`))
	f.Add(200, "0", []byte(`{"refresh_token":"0"}}`)) // not JSON: trailing data

	old, err := ParseResponse(fixture(f, "responses/concur_password.json"), "application/json", start.Add(-time.Hour))
	if err != nil {
		f.Fatal(err)
	}
	resp := &http.Response{Header: http.Header{}}
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		resp.StatusCode = status
		resp.Header.Set("Content-Type", contentType)
		nt, err := handleResponse("https://x.example/token", resp, body, start, nil)
		want := rotatedRefreshToken(status, body)
		if err != nil {
			if want != "" {
				t.Fatalf("an answer with a refresh token was refused: %v", err)
			}
			return
		}
		nt.merge(clone(t, old))
		data, saved, _, err := nt.record(reserveBytes)
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		back, err := ParseFile(data)
		if err != nil {
			t.Fatalf("the record saved does not read back: %v\n%q", err, data)
		}
		if want != "" && back.RefreshToken != want {
			t.Fatalf("saved refresh token %.8q…, want the answer's %.8q…", back.RefreshToken, want)
		}
		if back.RefreshToken != saved.RefreshToken || back.AccessToken != saved.AccessToken {
			t.Fatal("the token handed out is not the one saved")
		}
		if back.AccessToken != old.AccessToken && checkAccessToken(back.AccessToken) != "" {
			t.Fatalf("an unusable access token was saved: %s", checkAccessToken(back.AccessToken))
		}
	})
}

// rotatedRefreshToken is the refresh_token of a 2xx JSON object, read with
// encoding/json alone (not the code under test), or "".
func rotatedRefreshToken(status int, body []byte) string {
	if status < 200 || status > 299 {
		return ""
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	rt, _ := m["refresh_token"].(string)
	return rt
}

// clone is a deep copy of a token, through its file form.
func clone(t *testing.T, tok *Token) *Token {
	data, err := tok.MarshalFile()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseFile(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
