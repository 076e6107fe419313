package credentials

import "errors"

// CheckTokenURL applies the tokenURL rule to any endpoint URL (a
// geolocation, say): absolute https://, or http:// on a loopback host. A
// caller that words its own message takes TokenURLProblem's words instead.
func CheckTokenURL(raw string) error {
	if msg := TokenURLProblem(raw); msg != "" {
		return errors.New("credentials: " + msg)
	}
	return nil
}
