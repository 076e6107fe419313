package credentials

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsNeverInErrors feeds files with secrets in every awkward place
// and checks that no error, hint, warning or printed value shows them.
func TestSecretsNeverInErrors(t *testing.T) {
	const long = "SECRET-0123456789abcdef0123456789abcdef" // 39 chars: a pasted client secret
	files := map[string]string{
		"valid but incomplete":  `{"clientSecret":"SECRET-1","companyRequestToken":"SECRET-2","refreshToken":"SECRET-3"}`,
		"synonym conflict":      `{"appID":"a","companyRequestToken":"SECRET-4","password":"SECRET-5","clientSecret":"SECRET-6"}`,
		"control character":     `{"appID":"a","clientSecret":"SECRET-7\nSECRET-8","companyUUID":"u","companyRequestToken":"SECRET-9\u0000"}`,
		"wrong type around":     `{"appID":"a","clientSecret":{"v":"SECRET-10"},"companyRequestToken":["SECRET-11"]}`,
		"userinfo in URL":       `{"tokenURL":"https://me:SECRET-12@example.com/token","appID":"a"}`,
		"query and fragment":    `{"tokenURL":"https://example.com/token?client_secret=SECRET-13#SECRET-14","appID":"a"}`,
		"query over http":       `{"tokenURL":"http://example.com/token?client_secret=SECRET-15","appID":"a"}`,
		"bad scheme with query": `{"tokenURL":"ftp://example.com/t?k=SECRET-16","appID":"a"}`,
		"secret in grantType":   `{"appID":"a","grantType":"` + long + `"}`,
		"secret in authStyle":   `{"appID":"a","authStyle":"` + long + `"}`,
		"truncated in secret":   `{"appID":"a","clientSecret":"SECRET-17`,
		"raw newline in secret": "{\"clientSecret\":\"SECRET-18\nSECRET-19\"}",
		"bad escape in secret":  `{"clientSecret":"SECRET-20\q"}`,
		"garbage after secret":  `{"clientSecret":"SECRET-21"} SECRET-22`,
		"secret unquoted":       `{"clientSecret": SECRET-23}`,
		"unknown secret key":    `{"client_secret":"SECRET-24","refresh_token":"SECRET-25","appId":"a"}`,
		"duplicate secret":      `{"clientSecret":"SECRET-26","clientSecret":"SECRET-27"}`,
		"secret top level":      `"SECRET-28"`,
	}
	dir := tempDir(t)
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
			var shown []string
			_, err := Load(path)
			shown = append(shown, describe(err)...)
			c, err := Parse(path, []byte(data))
			shown = append(shown, describe(err)...)
			if c != nil {
				shown = append(shown, describe(c.Validate())...)
				shown = append(shown, c.Warnings...)
				shown = append(shown, fmt.Sprint(c.Missing()), fmt.Sprint(c.Redacted()))
				shown = append(shown, fmt.Sprintf("%v %+v %s %#v", c, c, c, c))
				shown = append(shown, fmt.Sprintf("%v %+v %#v", *c, *c, *c))
			}
			for _, s := range shown {
				if strings.Contains(s, "SECRET") {
					t.Errorf("a secret is shown: %q", s)
				}
			}
			if len(shown) == 0 {
				t.Error("nothing to check: want at least one error")
			}
		})
	}
}

// describe returns the error's text and its hint, if any.
func describe(err error) []string {
	if err == nil {
		return nil
	}
	out := []string{err.Error()}
	var se *SyntaxError
	if errors.As(err, &se) {
		out = append(out, se.Hint, se.Msg)
	}
	var inv *InvalidError
	if errors.As(err, &inv) {
		for _, p := range inv.Problems {
			out = append(out, p.String(), fmt.Sprintf("%v %+v %#v", p, p, p))
		}
	}
	return out
}
