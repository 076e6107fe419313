package refresh

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
)

// AssertionType is RFC 7523 §2.2's client_assertion_type for a JWT.
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// AssertionLifetime is how long a client assertion is good for: a fresh one
// is made for every request, so it only needs to outlive the trip there.
const AssertionLifetime = 2 * time.Minute

// ClientAuth authenticates the client with a key instead of a secret
// (docs/providers.md, "Client authentication"): a signed assertion in the
// form of every request (private_key_jwt, RFC 7523 §2.2), or a TLS client
// certificate (tls_client_auth, self_signed_tls_client_auth, RFC 8705). In
// both the form carries client_id and no secret.
type ClientAuth struct {
	Method string // credentials.AuthPrivateKeyJWT, AuthTLS or AuthSelfSignedTLS
	Key    *credentials.ClientKey
	// Issuer, when set, joins the endpoint in an assertion's aud: some
	// providers want their issuer there, others the endpoint (who wants
	// which is in docs/providers.md).
	Issuer string
	Clock  Clock // nil: SystemClock

	once sync.Once
	http *http.Client
	err  error
}

// NewClientAuth is the client authentication c asks for: nil for a client
// secret (or none), else the key read and checked by LoadClientKey, whose
// *credentials.KeyError comes back as a KindCredentials *Error.
func NewClientAuth(c *credentials.Credentials, clock Clock) (*ClientAuth, error) {
	k, err := c.LoadClientKey()
	var ke *credentials.KeyError
	switch {
	case errors.As(err, &ke):
		return nil, &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Hint: ke.Hint, Next: NextRunAgain}
	case err != nil:
		return nil, &Error{Kind: KindCredentials, Err: err, Msg: err.Error(), Next: NextRunAgain}
	case k == nil:
		return nil, nil
	}
	a := &ClientAuth{Method: c.ClientAuth, Key: k, Clock: clock}
	if !credentials.PresetFor(c).EndpointAudience {
		a.Issuer = c.Issuer
	}
	return a, nil
}

// authenticate returns req with a fresh client assertion in a copy of its
// form, when the client authenticates so: every attempt gets its own (a
// provider may remember a jti it saw, even in a request it failed).
func (c *Client) authenticate(req Request) (Request, error) {
	if req.Auth == nil || req.Auth.Method != credentials.AuthPrivateKeyJWT {
		return req, nil
	}
	jwt, err := req.Auth.Assertion(req.ClientID, req.URL)
	if err != nil {
		return req, &Error{Kind: KindCredentials, Err: err, Msg: "refresh: client assertion: " + err.Error(), Next: NextRunAgain,
			Hint: "check clientKey in credentials.json"}
	}
	form := make(url.Values, len(req.Form)+2)
	for k, v := range req.Form {
		form[k] = v
	}
	form.Set("client_assertion_type", AssertionType)
	form.Set("client_assertion", jwt)
	req.Form = form
	return req, nil
}

// Assertion is a new signed client assertion (RFC 7523 §3, OIDC Core §9) for
// a request to endpoint: iss and sub the client, aud the endpoint (and the
// issuer, when a.Issuer is set), a random jti, iat and nbf now, exp
// AssertionLifetime later. The header names the key (kid) and, with a
// certificate, its thumbprints (x5t#S256, and x5t, which Entra still reads).
// The compact JWS is a secret: it authenticates the client until it expires.
func (a *ClientAuth) Assertion(clientID, endpoint string) (string, error) {
	now := SystemClock.Now()
	if a.Clock != nil {
		now = a.Clock.Now()
	}
	var jti [18]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	header := map[string]string{"alg": a.Key.Alg, "typ": "JWT"}
	if a.Key.KeyID != "" {
		header["kid"] = a.Key.KeyID
	}
	if a.Key.Leaf != nil {
		s256 := sha256.Sum256(a.Key.Leaf.Raw)
		s1 := sha1.Sum(a.Key.Leaf.Raw)
		header["x5t#S256"] = b64(s256[:])
		header["x5t"] = b64(s1[:])
	}
	var aud any = endpoint
	if a.Issuer != "" && a.Issuer != endpoint {
		aud = []string{endpoint, a.Issuer}
	}
	claims := map[string]any{
		"iss": clientID, "sub": clientID, "aud": aud, "jti": b64(jti[:]),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(AssertionLifetime).Unix(),
	}
	return signJWS(a.Key.Signer, a.Key.Alg, header, claims)
}

// signJWS is a JWS compact serialization (RFC 7515 §7.1) of claims, signed
// with key by alg (RFC 7518 §3, RFC 8037 §3.1).
func signJWS(key crypto.Signer, alg string, header map[string]string, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(h) + "." + b64(c)
	sig, err := sign(key, alg, []byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func sign(key crypto.Signer, alg string, input []byte) ([]byte, error) {
	digest := func(h hash.Hash) []byte { h.Write(input); return h.Sum(nil) }
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg == "RS256" {
			return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest(sha256.New()))
		}
	case *ecdsa.PrivateKey:
		var d []byte
		switch alg {
		case "ES256":
			d = digest(sha256.New())
		case "ES384":
			d = digest(sha512.New384())
		default:
			return nil, fmt.Errorf("algorithm %s does not go with an EC key", alg)
		}
		r, s, err := ecdsa.Sign(rand.Reader, k, d)
		if err != nil {
			return nil, err
		}
		// JWS takes R and S as two fixed-width big-endian integers (RFC 7518
		// §3.4), not the ASN.1 sequence crypto.Signer gives.
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out, nil
	case ed25519.PrivateKey:
		if alg == "EdDSA" {
			return ed25519.Sign(k, input), nil
		}
	}
	return nil, fmt.Errorf("algorithm %s does not go with a %T", alg, key)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// TLS reports whether the client presents a certificate (RFC 8705).
func (a *ClientAuth) TLS() bool {
	return a != nil && credentials.TLSMethod(a.Method)
}

// httpClient is base presenting the client certificate: its transport
// cloned with the certificate added, everything else kept (timeouts,
// redirect rule, proxy, root CAs). Made once per ClientAuth, so that its
// connections are reused.
func (a *ClientAuth) httpClient(base *http.Client) (*http.Client, error) {
	a.once.Do(func() {
		var t *http.Transport
		switch rt := base.Transport.(type) {
		case nil:
			t = http.DefaultTransport.(*http.Transport).Clone()
		case *http.Transport:
			t = rt.Clone()
		default:
			a.err = fmt.Errorf("refresh: a TLS client certificate needs an *http.Transport, not a %T", rt)
			return
		}
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{}
		}
		cert := tls.Certificate{Certificate: a.Key.Chain, PrivateKey: a.Key.Signer, Leaf: a.Key.Leaf}
		t.TLSClientConfig.Certificates = []tls.Certificate{cert}
		t.TLSClientConfig.GetClientCertificate = nil
		c := *base
		c.Transport = t
		if c.CheckRedirect == nil {
			c.CheckRedirect = sameHostRedirect
		}
		a.http = &c
	})
	return a.http, a.err
}
