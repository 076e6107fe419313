package refresh

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// Revoke asks the revocation endpoint (RFC 7009) to revoke token, a refresh
// token unless hint says otherwise, authenticating the client when it has a
// secret. RFC 7009 §2.2: an unknown or already revoked token is answered 200,
// so a nil error means the token is dead at the provider.
func (c *Client) Revoke(ctx context.Context, cfg LoginConfig, token, hint string) error {
	if cfg.Endpoints.Revocation == "" {
		return errors.New("refresh: no revocation endpoint")
	}
	form := url.Values{"token": {token}, "token_type_hint": {cmp.Or(hint, "refresh_token")}}
	_, err := c.postForm(ctx, "revocation endpoint", cfg.request(cfg.Endpoints.Revocation, form))
	return err
}

// postForm sends a form to an endpoint other than the token one (device
// authorization, revocation) with the client's authentication and Accept:
// application/json, retrying as Exchange does, and returns the answer's JSON
// object (empty for an empty body). what names the endpoint in errors.
func (c *Client) postForm(ctx context.Context, what string, req Request) (map[string]json.RawMessage, error) {
	raw, err := retry(c, ctx, req, c.postOnce)
	return raw, named(err, what)
}

// postOnce makes one attempt, bounded by rt.
func (c *Client) postOnce(ctx context.Context, req Request, rt time.Duration) (map[string]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, rt)
	defer cancel()
	u := redact.URL(req.URL)
	secrets := requestSecrets(req)
	resp, body, err := c.post(ctx, req)
	if err != nil {
		return nil, err
	}
	st := resp.StatusCode
	switch {
	case len(body) > MaxResponseBody:
		return nil, &TransientError{URL: u, Status: st, Err: errors.New("answer larger than 1 MiB")}
	case failingNow(st):
		return nil, &TransientError{URL: u, Status: st, RetryAfter: retryAfter(resp.Header, time.Now()), Err: errors.New(transientSummary(u, resp, body, secrets))}
	case st >= 300:
		return nil, scrubSecrets(unavailable(endpointError(u, resp, body, secrets), resp), req)
	}
	raw := map[string]json.RawMessage{}
	if len(strings.TrimSpace(string(body))) == 0 {
		return raw, nil
	}
	raw, err = decodeResponse(body, resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, &EndpointError{URL: u, Status: st, Description: "not a JSON answer (" + bodySummary(resp, body, secrets) + ")"}
	}
	// GitHub answers errors with a 200 when it can.
	if e := endpointError(u, resp, body, secrets); e.Code != "" {
		return nil, scrubSecrets(unavailable(e, resp), req)
	}
	return raw, nil
}
