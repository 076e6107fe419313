package refresh

import (
	"fmt"
	"io"
	"net/http"
)

// Transport is an http.RoundTripper that sends each request with the Manager's
// access token as "Authorization: Bearer …" — what the ThingPark seed's axios
// interceptor and requests.Session do by hand — and, when the API answers 401,
// renews the token once and sends the request again.
//
// The renewal after a 401 only happens if the refused token is still the stored
// one (Options.Stale): when many requests are refused at once, the first renews
// and the others retry with its token. A request is sent again only when its body
// can be replayed: no body, or GetBody set (http.NewRequest sets it for
// bytes.Reader, bytes.Buffer and strings.Reader bodies); otherwise the 401 is
// returned as it is. If the renewal itself fails, the 401 is dropped and the
// renewal's error is returned (an *Error: KindOf tells retry-later from
// re-authorise). The answer to the second attempt is returned whatever it is.
type Transport struct {
	Manager *Manager
	Base    http.RoundTripper // nil: http.DefaultTransport
}

// HTTPClient returns an *http.Client whose requests carry the Manager's token
// (see Transport). (Not "Client": that field is the token endpoint's client.)
func (m *Manager) HTTPClient() *http.Client {
	return &http.Client{Transport: &Transport{Manager: m}}
}

// RoundTrip implements http.RoundTripper. It does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	access, err := t.Manager.accessToken(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	resp, err := t.base().RoundTrip(withBearer(req, access, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable {
		return resp, err
	}
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return resp, nil // cannot replay: the 401 as it is
		}
	}
	r, err := t.Manager.Ensure(req.Context(), Options{Force: true, Stale: access})
	drainClose(resp)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, fmt.Errorf("refresh: the API answered 401 and renewing the token failed: %w", err)
	}
	return t.base().RoundTrip(withBearer(req, r.Token.AccessToken, body))
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// withBearer returns a copy of req with the token and body; a RoundTripper must
// not change the request it was given.
func withBearer(req *http.Request, token string, body io.ReadCloser) *http.Request {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// drainClose reads a little of a response we drop, so its connection can be reused.
func drainClose(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
