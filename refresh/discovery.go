package refresh

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// Endpoints are where a provider's grants go. An empty field is an endpoint the
// provider does not have (GitHub has no revocation endpoint, for instance).
type Endpoints struct {
	Issuer              string
	Token               string
	Authorization       string
	DeviceAuthorization string
	Revocation          string
}

// DiscoveryURLs are the documents Discover reads for issuer, in order: OpenID
// Connect's `<issuer>/.well-known/openid-configuration`, then RFC 8414's
// `https://host/.well-known/oauth-authorization-server<issuer path>`.
func DiscoveryURLs(issuer string) ([]string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("refresh: issuer %q is not a URL", truncate(issuer, 80))
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	oidc := *u
	oidc.RawPath, oidc.Path, oidc.RawQuery, oidc.Fragment = "", "", "", ""
	base := oidc.String()
	return []string{
		base + path + "/.well-known/openid-configuration",
		base + "/.well-known/oauth-authorization-server" + path,
	}, nil
}

// metadata is the part of a discovery document tokenkeeper uses.
type metadata struct {
	Issuer              string `json:"issuer"`
	Token               string `json:"token_endpoint"`
	Authorization       string `json:"authorization_endpoint"`
	DeviceAuthorization string `json:"device_authorization_endpoint"`
	Revocation          string `json:"revocation_endpoint"`
}

// Discover reads the issuer's metadata (see DiscoveryURLs). The document must
// name the same issuer (OpenID Connect Discovery §4.3, RFC 8414 §3.3: a
// document that names another could send the user's login elsewhere), and every
// endpoint in it must be https (or http on loopback). A network failure or a
// 5xx is a *TransientError; a document that is not there or not valid is an
// *EndpointError.
func (c *Client) Discover(ctx context.Context, issuer string) (*Endpoints, error) {
	urls, err := DiscoveryURLs(issuer)
	if err != nil {
		return nil, err
	}
	if err := credentials.CheckTokenURL(issuer); err != nil {
		return nil, fmt.Errorf("refresh: issuer: %w", err)
	}
	var last error
	for _, u := range urls {
		body, err := c.fetchMetadata(ctx, u)
		var ee *EndpointError
		if errors.As(err, &ee) && ee.Status == http.StatusNotFound {
			last = err
			continue // not at this place; try the other one
		}
		if err != nil {
			return nil, err
		}
		return parseMetadata(body, u, issuer)
	}
	return nil, last
}

// parseMetadata reads a discovery document fetched from from for issuer.
func parseMetadata(body []byte, from, issuer string) (*Endpoints, error) {
	var md metadata
	if err := json.Unmarshal(bytes.TrimPrefix(body, []byte("\uFEFF")), &md); err != nil {
		return nil, &EndpointError{URL: from, Status: http.StatusOK, Description: "not a discovery document (not a JSON object with string fields)"}
	}
	return md.endpoints(from, issuer)
}

func (c *Client) fetchMetadata(ctx context.Context, u string) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("refresh: discovery %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, classifyTransport(u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	if err != nil {
		return nil, &TransientError{URL: u, Status: resp.StatusCode, Err: fmt.Errorf("reading the answer: %w", scrubURLError(err))}
	}
	switch st := resp.StatusCode; {
	case st == http.StatusTooManyRequests || st >= 500:
		return nil, &TransientError{URL: u, Status: st, RetryAfter: retryAfter(resp.Header, c.now()), Err: errors.New(bodySummary(resp, body))}
	case st != http.StatusOK:
		return nil, &EndpointError{URL: u, Status: st, Description: "no discovery document here (" + bodySummary(resp, body) + ")"}
	case len(body) > MaxResponseBody:
		return nil, &EndpointError{URL: u, Status: st, Description: "discovery document larger than 1 MiB"}
	}
	return body, nil
}

func (md *metadata) endpoints(from, issuer string) (*Endpoints, error) {
	if strings.TrimRight(md.Issuer, "/") != strings.TrimRight(issuer, "/") {
		return nil, &EndpointError{URL: from, Status: http.StatusOK, Description: fmt.Sprintf("the document is for issuer %q, not %q", clean(md.Issuer, 200), clean(issuer, 200))}
	}
	e := &Endpoints{Issuer: md.Issuer, Token: md.Token, Authorization: md.Authorization,
		DeviceAuthorization: md.DeviceAuthorization, Revocation: md.Revocation}
	for name, v := range map[string]string{"token_endpoint": e.Token, "authorization_endpoint": e.Authorization,
		"device_authorization_endpoint": e.DeviceAuthorization, "revocation_endpoint": e.Revocation} {
		if v == "" {
			continue
		}
		if err := credentials.CheckTokenURL(v); err != nil {
			return nil, &EndpointError{URL: from, Status: http.StatusOK, Description: fmt.Sprintf("%s: %s", name, strings.TrimPrefix(err.Error(), "credentials: "))}
		}
	}
	if e.Token == "" {
		return nil, &EndpointError{URL: from, Status: http.StatusOK, Description: "the document names no token_endpoint"}
	}
	return e, nil
}

// ResolveEndpoints gives the endpoints of c: the explicit ones (tokenURL,
// authURL, deviceAuthURL, revocationURL) win, and the rest come from the
// issuer's discovery document when an issuer is set. Without an issuer no
// request is made.
func (cl *Client) ResolveEndpoints(ctx context.Context, c *credentials.Credentials) (*Endpoints, error) {
	e := &Endpoints{Issuer: c.Issuer, Token: c.TokenURL, Authorization: c.AuthURL,
		DeviceAuthorization: c.DeviceAuthURL, Revocation: c.RevocationURL}
	if c.Issuer == "" || (e.Token != "" && e.Authorization != "" && e.DeviceAuthorization != "" && e.Revocation != "") {
		return e, nil
	}
	d, err := cl.Discover(ctx, c.Issuer)
	if err != nil {
		return nil, err
	}
	e.Token = firstNonEmpty(e.Token, d.Token)
	e.Authorization = firstNonEmpty(e.Authorization, d.Authorization)
	e.DeviceAuthorization = firstNonEmpty(e.DeviceAuthorization, d.DeviceAuthorization)
	e.Revocation = firstNonEmpty(e.Revocation, d.Revocation)
	return e, nil
}
