package refresh

import (
	"encoding/json"
	"time"
)

// Refusal is what the token record remembers of a refused grant, so that the
// next runs send nothing until the credentials change (docs/contract.md §2, "A refusal is
// remembered"). It holds fingerprints, never a secret, and the endpoint's answer
// as it was shown (already cleaned of what the request sent).
type Refusal struct {
	At time.Time `json:"at"`
	// Refresh is the fingerprint of a refresh token the endpoint refused: it is
	// dead, and is never sent again.
	Refresh string `json:"refresh_token,omitempty"`
	// Bootstrap is the refusal of the grant in the credentials file, and
	// Credentials the fingerprint of the credentials that were refused.
	Bootstrap   *refusedAnswer `json:"bootstrap,omitempty"`
	Credentials string         `json:"credentials,omitempty"`
}

// refusedAnswer is an *EndpointError as stored.
type refusedAnswer struct {
	URL          string `json:"url"`
	Status       int    `json:"status"`
	Code         string `json:"error,omitempty"`
	Description  string `json:"error_description,omitempty"`
	Message      string `json:"message,omitempty"`
	ProviderCode int    `json:"code,omitempty"`
	Geolocation  string `json:"geolocation,omitempty"`
	Correlation  string `json:"concur_correlationid,omitempty"`
}

func answerOf(ee *EndpointError) *refusedAnswer {
	return &refusedAnswer{URL: ee.URL, Status: ee.Status, Code: ee.Code, Description: ee.Description,
		Message: ee.Message, ProviderCode: ee.ProviderCode, Geolocation: ee.Geolocation, Correlation: ee.CorrelationID}
}

func (a *refusedAnswer) endpointError() *EndpointError {
	return &EndpointError{URL: a.URL, Status: a.Status, Code: a.Code, Description: a.Description,
		Message: a.Message, ProviderCode: a.ProviderCode, Geolocation: a.Geolocation, CorrelationID: a.Correlation}
}

const keyRefusal = "refusal"

func (t *Token) refusal() *Refusal {
	if t == nil {
		return nil
	}
	return t.Refusal
}

// refreshRefused reports whether the stored refresh token is one the endpoint
// refused.
func (t *Token) refreshRefused() bool {
	r := t.refusal()
	return r != nil && r.Refresh != "" && t.RefreshToken != "" && r.Refresh == fingerprint(t.RefreshToken)
}

func readRefusal(raw map[string]json.RawMessage) (*Refusal, error) {
	v, ok := raw[keyRefusal]
	if !ok || isNull(v) {
		return nil, nil
	}
	var r Refusal
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
