package fakeserver

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// assertionType is RFC 7523 §2.2's client_assertion_type for a JWT.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxAssertionLife is the longest exp − iat the server accepts, as strict
// providers do: an assertion is made for one request.
const maxAssertionLife = 5 * time.Minute

// keyClientAuth checks a client that authenticates with a key
// (Options.ClientKey, Options.ClientCert): a client_assertion signed by the
// key (private_key_jwt), or the certificate presented over TLS (RFC 8705).
// It never accepts a secret from such a client.
func (s *Server) keyClientAuth(r *http.Request, form url.Values) (apiError, bool) {
	// In RFC 6749's words alone, as the providers that take keys answer
	// (oidc-provider, Entra, Okta): no numeric code, which would read as
	// SAP Concur's "app disabled" and send the user to SAP Concur.
	bad := func(desc string) (apiError, bool) { return apiError{"invalid_client", desc, 0}, false }
	_, _, basic := r.BasicAuth()
	switch {
	case basic || form.Has("client_secret"):
		return bad("this client authenticates with a key, not a secret")
	case form.Get("client_id") != "" && form.Get("client_id") != s.opts.ClientID:
		return bad("unknown client_id")
	}
	if s.opts.ClientCert != nil {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || !bytes.Equal(r.TLS.PeerCertificates[0].Raw, s.opts.ClientCert.Raw) {
			return bad("the client's certificate was not presented")
		}
		if form.Get("client_id") == "" {
			return bad("client_id is missing")
		}
		return apiError{}, true
	}
	if form.Get("client_assertion_type") != assertionType {
		return bad("client_assertion_type must be " + assertionType)
	}
	if err := s.checkAssertion(r, form.Get("client_assertion")); err != nil {
		return bad("client_assertion: " + err.Error())
	}
	return apiError{}, true
}

// checkAssertion verifies a client assertion: its signature by
// Options.ClientKey, iss and sub the client, aud this endpoint or the issuer,
// a jti never seen before, and a lifetime that has begun, has not ended, and
// is at most maxAssertionLife.
func (s *Server) checkAssertion(r *http.Request, jwt string) error {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return errors.New("not a compact JWS")
	}
	var header struct{ Alg, Kid string }
	var claims struct {
		Iss, Sub, Jti string
		Aud           any
		Iat, Exp, Nbf int64
	}
	if err := decodePart(parts[0], &header); err != nil {
		return fmt.Errorf("header: %v", err)
	}
	if err := decodePart(parts[1], &claims); err != nil {
		return fmt.Errorf("claims: %v", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return errors.New("signature is not base64url")
	}
	if err := VerifyJWS(s.opts.ClientKey, header.Alg, []byte(parts[0]+"."+parts[1]), sig); err != nil {
		return err
	}
	if s.opts.ClientKeyID != "" && header.Kid != s.opts.ClientKeyID {
		return fmt.Errorf("kid %q, want %q", header.Kid, s.opts.ClientKeyID)
	}
	if claims.Iss != s.opts.ClientID || claims.Sub != s.opts.ClientID {
		return errors.New("iss and sub must be the client_id")
	}
	endpoint := s.opts.BaseURL + r.URL.Path
	if !audience(claims.Aud, endpoint, s.opts.BaseURL) {
		return fmt.Errorf("aud must name %s", endpoint)
	}
	now := s.opts.Now()
	iat, exp := time.Unix(claims.Iat, 0), time.Unix(claims.Exp, 0)
	switch {
	case claims.Exp == 0 || !now.Before(exp):
		return errors.New("expired, or no exp")
	case claims.Iat == 0 || exp.Sub(iat) > maxAssertionLife:
		return fmt.Errorf("lives longer than %s, or has no iat", maxAssertionLife)
	case iat.After(now.Add(time.Minute)) || time.Unix(claims.Nbf, 0).After(now.Add(time.Minute)):
		return errors.New("issued in the future")
	case claims.Jti == "":
		return errors.New("no jti")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jtis[claims.Jti] {
		return errors.New("jti replayed")
	}
	s.jtis[claims.Jti] = true
	return nil
}

func audience(aud any, want ...string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(want, a)
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	}
	return false
}

func decodePart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return errors.New("not base64url")
	}
	return json.Unmarshal(b, v)
}

// VerifyJWS checks a JWS signature sig over input by key with alg, one of
// RS256, ES256, ES384 (R and S fixed width, RFC 7518 §3.4) and EdDSA.
func VerifyJWS(key crypto.PublicKey, alg string, input, sig []byte) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if alg == "RS256" {
			d := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, d[:], sig)
		}
	case *ecdsa.PublicKey:
		var d []byte
		switch alg {
		case "ES256":
			h := sha256.Sum256(input)
			d = h[:]
		case "ES384":
			h := sha512.Sum384(input)
			d = h[:]
		default:
			return fmt.Errorf("alg %s with an EC key", alg)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return fmt.Errorf("an %s signature is %d bytes, not %d", alg, 2*size, len(sig))
		}
		r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
		if !ecdsa.Verify(k, d, r, s) {
			return errors.New("signature does not verify")
		}
		return nil
	case ed25519.PublicKey:
		if alg == "EdDSA" {
			if !ed25519.Verify(k, input, sig) {
				return errors.New("signature does not verify")
			}
			return nil
		}
	}
	if alg == "" {
		return errors.New("no alg")
	}
	return fmt.Errorf("alg %s does not go with a %T", alg, key)
}
