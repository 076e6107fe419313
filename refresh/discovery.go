package refresh

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// Endpoints are where a provider's grants go. An empty field is an endpoint the
// provider does not have (GitHub has no revocation endpoint, for instance).
type Endpoints struct {
	Issuer              string
	Token               string
	Authorization       string
	DeviceAuthorization string
	Revocation          string
	// AuthMethods is the document's token_endpoint_auth_methods_supported:
	// how the provider lets a client authenticate; nil when it does not say.
	AuthMethods []string
	// MTLS are RFC 8705 §5's mtls_endpoint_aliases: where a client that
	// presents a certificate sends its requests instead, by endpoint name.
	MTLS map[string]string
	// IssInResponse is the document's
	// authorization_response_iss_parameter_supported (RFC 9207 §3), for the
	// authorization endpoint it names: every answer of that endpoint carries
	// iss, and one without it is refused (a mix-up, or not the provider).
	IssInResponse bool
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
	Issuer              string            `json:"issuer"`
	Token               string            `json:"token_endpoint"`
	Authorization       string            `json:"authorization_endpoint"`
	DeviceAuthorization string            `json:"device_authorization_endpoint"`
	Revocation          string            `json:"revocation_endpoint"`
	AuthMethods         []string          `json:"token_endpoint_auth_methods_supported"`
	MTLS                map[string]string `json:"mtls_endpoint_aliases"`
	// Only true counts: a document that says anything else for it is read
	// as one that does not promise iss.
	IssInResponse any `json:"authorization_response_iss_parameter_supported"`
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
		return nil, &EndpointError{URL: from, What: discoveryDocument, Status: http.StatusOK, Description: "not a discovery document (not a JSON object with string fields)"}
	}
	return md.endpoints(from, issuer)
}

// discoveryDocument is what a discovery URL is in messages.
const discoveryDocument = "discovery document"

// fetchMetadata fetches the document at u; its *EndpointError and
// *TransientError name u as the discovery document, not a token endpoint.
func (c *Client) fetchMetadata(ctx context.Context, u string) ([]byte, error) {
	body, err := c.fetchMetadataAt(ctx, u)
	return body, named(err, discoveryDocument)
}

// named makes err's *EndpointError or *TransientError say what its URL is
// (What), for a URL that is not the token endpoint.
func named(err error, what string) error {
	var ee *EndpointError
	var te *TransientError
	switch {
	case errors.As(err, &ee):
		ee.What = what
	case errors.As(err, &te):
		te.What = what
	}
	return err
}

func (c *Client) fetchMetadataAt(ctx context.Context, u string) ([]byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, stop := c.Budget.Bound(ctx)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("refresh: discovery %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	if ua := c.userAgent(); ua != "" {
		req.Header.Set("User-Agent", ua)
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
	case failingNow(st):
		return nil, &TransientError{URL: u, Status: st, RetryAfter: retryAfter(resp.Header, c.now()), Err: errors.New(bodySummary(resp, body, nil))}
	case st != http.StatusOK:
		return nil, &EndpointError{URL: u, Status: st, Description: "no discovery document here (" + bodySummary(resp, body, nil) + ")"}
	case len(body) > MaxResponseBody:
		return nil, &EndpointError{URL: u, Status: st, Description: "discovery document larger than 1 MiB"}
	}
	return body, nil
}

func (md *metadata) endpoints(from, issuer string) (*Endpoints, error) {
	if strings.TrimRight(md.Issuer, "/") != strings.TrimRight(issuer, "/") {
		return nil, &EndpointError{URL: from, What: discoveryDocument, Status: http.StatusOK, Description: fmt.Sprintf("the document is for issuer %q, not %q", redact.Line(md.Issuer, 200), redact.Line(issuer, 200))}
	}
	e := &Endpoints{Issuer: md.Issuer, Token: md.Token, Authorization: md.Authorization,
		DeviceAuthorization: md.DeviceAuthorization, Revocation: md.Revocation, AuthMethods: md.AuthMethods,
		IssInResponse: md.IssInResponse == true}
	for _, name := range []string{"token_endpoint", "device_authorization_endpoint", "revocation_endpoint"} {
		v := md.MTLS[name]
		if v == "" {
			continue
		}
		if p := credentials.TokenURLProblem(v); p != "" {
			return nil, &EndpointError{URL: from, What: discoveryDocument, Status: http.StatusOK, Description: fmt.Sprintf("mtls_endpoint_aliases %s: %s", name, p)}
		}
		if e.MTLS == nil {
			e.MTLS = map[string]string{}
		}
		e.MTLS[name] = v
	}
	for name, v := range map[string]string{"token_endpoint": e.Token, "authorization_endpoint": e.Authorization,
		"device_authorization_endpoint": e.DeviceAuthorization, "revocation_endpoint": e.Revocation} {
		if v == "" {
			continue
		}
		if p := credentials.TokenURLProblem(v); p != "" {
			return nil, &EndpointError{URL: from, What: discoveryDocument, Status: http.StatusOK, Description: fmt.Sprintf("%s: %s", name, p)}
		}
	}
	if e.Token == "" {
		return nil, &EndpointError{URL: from, What: discoveryDocument, Status: http.StatusOK, Description: "the document names no token_endpoint"}
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
	if err := offers(d, c); err != nil {
		return nil, err
	}
	if c.TLSAuth() { // RFC 8705 §5: a certificate goes to the aliases
		d.Token = cmp.Or(d.MTLS["token_endpoint"], d.Token)
		d.DeviceAuthorization = cmp.Or(d.MTLS["device_authorization_endpoint"], d.DeviceAuthorization)
		d.Revocation = cmp.Or(d.MTLS["revocation_endpoint"], d.Revocation)
	}
	e.Token = cmp.Or(e.Token, d.Token)
	e.Authorization = cmp.Or(e.Authorization, d.Authorization)
	e.DeviceAuthorization = cmp.Or(e.DeviceAuthorization, d.DeviceAuthorization)
	e.Revocation = cmp.Or(e.Revocation, d.Revocation)
	e.AuthMethods, e.MTLS = d.AuthMethods, d.MTLS
	// The promise of iss is the discovered authorization endpoint's: an
	// explicit authURL elsewhere made none.
	e.IssInResponse = d.IssInResponse && e.Authorization == d.Authorization
	return e, nil
}

// offers checks clientAuth, when the credentials choose one, against the
// methods the provider's document lists, when it lists any: a method it
// does not offer is refused by every request, and is the credentials'
// problem (78) before one is sent.
func offers(d *Endpoints, c *credentials.Credentials) error {
	if c.ClientAuth == "" || len(d.AuthMethods) == 0 || slices.Contains(d.AuthMethods, c.ClientAuth) {
		return nil
	}
	listed := make([]string, 0, min(len(d.AuthMethods), 11))
	for i, m := range d.AuthMethods {
		if i == 10 { // a document may list anything; a message stays a line
			listed = append(listed, fmt.Sprintf("… (%d in all)", len(d.AuthMethods)))
			break
		}
		listed = append(listed, redact.Line(m, 64))
	}
	return &Error{Kind: KindCredentials, Next: NextRunAgain,
		Msg: fmt.Sprintf("refresh: the provider of issuer %s does not offer clientAuth %s: its discovery document lists %s",
			redact.URL(c.Issuer), c.ClientAuth, strings.Join(listed, ", ")),
		Hint: fmt.Sprintf("set clientAuth in %s to a method the provider offers (and the client is registered for)", c.Path)}
}

// Re-discovery. The token endpoint found from the issuer is cached with the
// token (the record's token_url) and, for one process, in the Manager; it is
// not fetched again on every run. When a request to it fails in a way a moved
// endpoint explains, the discovery document is read again, once, and when it
// names another token endpoint the request is sent there, once, but only when
// the failure proves the first was not processed, so that a refresh token that
// may have been spent is never replayed:
//
//   - no connection (the dial failed: connection refused, no such host, no
//     route), once the client's retries are spent: nothing was sent.
//     Re-discovered, and sent again there.
//   - 404 or 405 without an OAuth error code: nothing is there to take it.
//     Re-discovered, and sent again there.
//   - a redirect that was not followed (another host, or too many): the old
//     place answered, and may have acted. Re-discovered, never sent again; a
//     warning names the endpoint the document names now.
//   - anything else (invalid_grant and the other refusals, 5xx, 429, a
//     timeout, a reset, an answer that is not a token) is not a moved endpoint,
//     and changes nothing.
//
// A success at the new endpoint saves it in the record. Explicit tokenURLs are
// never re-discovered, and login and logout read the document afresh at their
// start anyway.

// movedEndpoint reports whether err, from a request to an endpoint, is one a
// moved endpoint explains (moved), and whether it proves the request was not
// processed (unsent).
func movedEndpoint(err error) (moved, unsent bool) {
	var te *TransientError
	var op *net.OpError
	if errors.As(err, &te) && te.Status == 0 && errors.As(te.Err, &op) && op.Op == "dial" {
		return true, true
	}
	var ee *EndpointError
	if !errors.As(err, &ee) || ee.Code != "" {
		return false, false
	}
	switch s := ee.Status; {
	case s == http.StatusNotFound || s == http.StatusMethodNotAllowed:
		return true, true
	case s == 0 || s >= 300 && s < 400: // a redirect that was not followed
		return true, false
	}
	return false, false
}

// rediscover is called after a request to the token endpoint u failed with
// err. When u came from the issuer's discovery document and err is one a
// moved endpoint explains, it reads the document again; it returns the
// endpoints when the document now names another token endpoint (nil
// otherwise), and whether the request may be sent there (see above).
func (m *Manager) rediscover(ctx context.Context, u string, err error) (*Endpoints, bool) {
	c := m.creds()
	moved, unsent := movedEndpoint(err)
	if !moved || c == nil || c.Issuer == "" || c.TokenURL != "" {
		return nil, false
	}
	m.debug("the token endpoint failed as a moved one does; reading the discovery document again", "url", redact.URL(u))
	ep, derr := m.client.ResolveEndpoints(ctx, c)
	if derr != nil {
		m.debug("discovery failed too", "err", derr)
		return nil, false
	}
	if ep.Token == u {
		return nil, false
	}
	return ep, unsent
}

// movedWarning says where the discovery document now sends token requests, when
// the failed one is not sent again there.
func movedWarning(from string, ep *Endpoints) string {
	return fmt.Sprintf("the token endpoint %s did not take the request, and the issuer's discovery document now names %s; the request was not sent there, as the first endpoint answered and may have used it", redact.URL(from), redact.URL(ep.Token))
}
