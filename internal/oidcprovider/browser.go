package oidcprovider

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

// Browse plays a person's browser: it opens authURL, lands on the provider's
// login page, logs in as username with password and allows (action "allow")
// or refuses ("deny"), and follows the redirects back to the client's
// loopback callback. It returns the callback's status and page.
func Browse(authURL, username, password, action string) (int, string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(authURL)
	if err != nil {
		return 0, "", fmt.Errorf("oidcprovider: open %s: %w", authURL, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	login := resp.Request.URL
	id := login.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" {
		return resp.StatusCode, "", fmt.Errorf("oidcprovider: the authorization URL led to %s (%d), not the login page", login, resp.StatusCode)
	}
	form := url.Values{"id": {id}, "username": {username}, "password": {password}, "action": {action}}
	resp, err = c.PostForm(login.String(), form)
	if err != nil {
		return 0, "", fmt.Errorf("oidcprovider: log in: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(body), nil
}

// ApproveDevice plays the person on the second device: it enters userCode at
// the provider's device page and allows or refuses.
func ApproveDevice(verificationURI, userCode, username, password, action string) error {
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.PostForm(verificationURI, url.Values{"user_code": {userCode}, "username": {username},
		"password": {password}, "action": {action}})
	if err != nil {
		return fmt.Errorf("oidcprovider: device approval: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oidcprovider: device approval answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// BrowseTo is Browse stopping where the provider redirects to host (the
// client's loopback listener): it returns that callback URL, code and state in
// it, without opening it.
func BrowseTo(authURL, username, password, action, host string) (string, error) {
	var callback string
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Host == host {
			callback = r.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	if err != nil {
		return "", fmt.Errorf("oidcprovider: open %s: %w", authURL, err)
	}
	resp.Body.Close()
	login := resp.Request.URL
	form := url.Values{"id": {login.Query().Get("authRequestID")}, "username": {username}, "password": {password}, "action": {action}}
	resp, err = c.PostForm(login.String(), form)
	if err != nil {
		return "", fmt.Errorf("oidcprovider: log in: %w", err)
	}
	resp.Body.Close()
	if callback == "" {
		return "", fmt.Errorf("oidcprovider: the login did not redirect to %s (%d)", host, resp.StatusCode)
	}
	return callback, nil
}
