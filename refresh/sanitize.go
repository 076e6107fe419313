package refresh

import (
	"errors"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// The token endpoint's answers are outside input: a proxy, a misconfigured server
// or a hostile one decides their text. What of it reaches a message goes through
// redact.Line, with the secrets of the request taken out first (below).

// requestSecrets are the values in a request that must never be shown, in every
// encoding they were sent in: an endpoint may echo what it was sent ("invalid
// refresh token abc…"), the form body as it went on the wire, or the
// Authorization header (Basic base64 of id:secret). internal/redact owns the
// encodings and the rule for short values.
func requestSecrets(req Request) []string {
	s := redact.Add(nil, req.ClientSecret)
	for _, k := range []string{"client_secret", "refresh_token", "password", "code", "assertion", "client_assertion", "code_verifier", "device_code", "token"} {
		s = redact.Add(s, req.Form[k]...)
	}
	return redact.Add(s, redact.Basic(req.ClientID, req.ClientSecret)...)
}

func redactAll(s string, secrets []string) string { return redact.Text(s, secrets) }

// scrubSecrets removes the request's secrets from the text of err: a last guard,
// behind endpointError's, for text that did not come through it. The body stays
// in the wrapped *oauth2.RetrieveError, as x/oauth2 keeps it, for callers that
// want it — with the request's secrets redacted (retrieveError).
func scrubSecrets(err error, req Request) error {
	secrets := requestSecrets(req)
	if err == nil || len(secrets) == 0 {
		return err
	}
	var ee *EndpointError
	var te *TransientError
	switch {
	case errors.As(err, &ee):
		ee.Code = redactAll(ee.Code, secrets)
		ee.Description = redactAll(ee.Description, secrets)
		ee.Message = redactAll(ee.Message, secrets)
		ee.URI = redactAll(ee.URI, secrets)
		ee.CorrelationID = redactAll(ee.CorrelationID, secrets)
		if ee.Retrieve != nil {
			ee.Retrieve.ErrorCode = ee.Code
			ee.Retrieve.ErrorDescription = ee.Description
			ee.Retrieve.ErrorURI = ee.URI
		}
	case errors.As(err, &te) && te.Err != nil:
		if msg := te.Err.Error(); redactAll(msg, secrets) != msg {
			te.Err = errors.New(redactAll(msg, secrets))
		}
	}
	return err
}
