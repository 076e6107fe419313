package credentials

import "errors"

// CheckTokenURL applies the tokenURL rule to any endpoint URL (a
// geolocation, say): absolute https://, or http:// on a loopback host.
func CheckTokenURL(raw string) error {
	if msg := checkTokenURL(raw); msg != "" {
		return errors.New("credentials: " + msg)
	}
	return nil
}
