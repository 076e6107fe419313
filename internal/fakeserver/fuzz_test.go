package fakeserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// FuzzTokenEndpoint throws arbitrary forms at the token endpoint: it must
// never panic and always answer a JSON object with an RFC 6749 status.
func FuzzTokenEndpoint(f *testing.F) {
	form := "application/x-www-form-urlencoded"
	f.Add(form, passwordForm().Encode(), false)
	f.Add(form, refreshForm("rt-1-X").Encode(), false)
	f.Add(form, "grant_type=client_credentials", true)
	f.Add(form, "grant_type=password&grant_type=password", false)
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "%zz", false)
	f.Add("application/json", `{"grant_type":"password"}`, false)
	if gh, err := os.ReadFile(filepath.Join(testdata, "responses", "github_form_encoded.txt")); err == nil {
		f.Add(form, string(gh), true)
	}
	s := fakeserver.NewHandler(fakeserver.Options{
		ClientID: clientID, ClientSecret: clientSecret,
		CompanyUUID: companyUUID, RequestToken: requestToken,
	})
	defer s.Close()
	f.Fuzz(func(t *testing.T, contentType, body string, useBasic bool) {
		req := httptest.NewRequest(http.MethodPost, fakeserver.TokenPath, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if useBasic {
			req.SetBasicAuth(clientID, clientSecret)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("status %d: body is not a JSON object: %v", rec.Code, err)
		}
		_, isErr := m["error"]
		_, isTok := m["access_token"]
		if isErr == isTok || isTok != (rec.Code == 200) {
			t.Fatalf("status %d with error=%v access_token=%v", rec.Code, isErr, isTok)
		}
	})
}
