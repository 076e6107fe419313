package oidcnode

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Browse plays a person's browser: it opens authURL, logs in at the
// provider's login page as username with password and allows (action
// "allow") or refuses ("deny"), and follows the redirects back to the
// client's loopback callback. It returns the callback's status and page.
func Browse(authURL, username, password, action string) (int, string, error) {
	return walk(authURL, url.Values{"login": {username}, "password": {password}, "action": {action}})
}

// ApproveDevice plays the person on the second device: it opens
// verificationURI, enters userCode, confirms, logs in and allows or refuses.
func ApproveDevice(verificationURI, userCode, username, password, action string) error {
	st, body, err := walk(verificationURI, url.Values{"user_code": {userCode}, "login": {username},
		"password": {password}, "action": {action}})
	if err != nil {
		return err
	}
	if st != http.StatusOK {
		return fmt.Errorf("oidcnode: device approval ended in %d: %s", st, strings.TrimSpace(body))
	}
	return nil
}

var (
	formRe  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	fieldRe = regexp.MustCompile(`(?is)<(?:input|button)\b([^>]*)>`)
	attrRe  = regexp.MustCompile(`(?is)([a-z_-]+)="([^"]*)"`)
)

// attrs are the double-quoted attributes in s, by lower-case name, unescaped.
func attrs(s string) map[string]string {
	m := map[string]string{}
	for _, a := range attrRe.FindAllStringSubmatch(s, -1) {
		m[strings.ToLower(a[1])] = html.UnescapeString(a[2])
	}
	return m
}

// walk opens start and submits every form the provider shows (its login,
// device and auto-posting pages), each with its own fields and those of fill
// that it names, until a page has no form.
func walk(start string, fill url.Values) (int, string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(start)
	for step := 0; ; step++ {
		if err != nil {
			return 0, "", fmt.Errorf("oidcnode: browse: %w", err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		form := formRe.FindStringSubmatch(string(body))
		if form == nil || step == 8 {
			return resp.StatusCode, string(body), nil
		}
		fa := attrs(form[1])
		action, perr := resp.Request.URL.Parse(fa["action"])
		if perr != nil {
			return 0, "", fmt.Errorf("oidcnode: form action %q: %w", fa["action"], perr)
		}
		values := url.Values{}
		for _, f := range fieldRe.FindAllStringSubmatch(form[2], -1) {
			a := attrs(f[1])
			name := a["name"]
			switch {
			case name == "":
			case fill.Has(name):
				values.Set(name, fill.Get(name))
			case a["type"] == "hidden":
				values.Set(name, a["value"])
			}
		}
		resp, err = c.PostForm(action.String(), values)
	}
}
