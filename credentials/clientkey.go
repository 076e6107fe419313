package credentials

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// ClientKey is what a client that authenticates with a key holds, read from
// clientKey and clientCert and checked (docs/providers.md, "Client
// authentication").
type ClientKey struct {
	Signer crypto.Signer
	// Alg is the JWS algorithm of the key (RFC 7518 §3.1, RFC 8037): RS256
	// for RSA, ES256 for P-256, ES384 for P-384, EdDSA for Ed25519.
	Alg   string
	KeyID string // clientKeyID: the JWS kid; "" for none
	// Chain is clientCert's certificates (DER, the one matching the key
	// first); nil when clientCert is not set. Leaf is the first, parsed.
	Chain [][]byte
	Leaf  *x509.Certificate
}

// MinRSABits is the smallest RSA key accepted (RFC 7518 §3.3: 2048 or larger).
const MinRSABits = 2048

// KeyError is a clientKey or clientCert file that cannot be used: missing,
// not the user's private regular file, or not a key or certificate
// tokenkeeper can use. It names the credentials file, the field and the
// resolved path of the file it is about; Hint says what to do. Never any
// key material.
type KeyError struct {
	Path  string // credentials.json
	Field string // "clientKey" or "clientCert"
	File  string // the key or certificate file, resolved
	Msg   string
	Hint  string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("credentials: %s: %s: %s: %s", e.Path, e.Field, e.File, e.Msg)
}

// KeyPath is where a clientKey or clientCert path points: a relative path
// is taken from the directory of credentials.json, never from the working
// directory (cron's is not the user's).
func (c *Credentials) KeyPath(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Path == "" {
		return absPath(p)
	}
	return filepath.Join(filepath.Dir(c.Path), p)
}

// LoadClientKey reads and checks the client's key and certificate when
// clientAuth needs them (private_key_jwt, tls_client_auth,
// self_signed_tls_client_auth); nil, nil when it does not. The key file is
// held to a private key's rules, as ssh holds one: a regular file of the
// user, not a link, at most 1 MiB, readable by nobody else (refused, with the
// chmod, where credentials.json is only warned about). Errors are *KeyError.
func (c *Credentials) LoadClientKey() (*ClientKey, error) {
	if !c.KeyAuth() {
		return nil, nil
	}
	keyPath := c.KeyPath(c.ClientKey)
	fail := func(field, file, msg, hint string) error {
		return &KeyError{Path: c.Path, Field: field, File: file, Msg: msg, Hint: hint}
	}
	data, err := storage.ReadPrivate(keyPath)
	if err != nil {
		msg, hint := readProblem(keyPath, err)
		if target, lerr := os.Readlink(keyPath); lerr == nil {
			// The store's hint for a link (remove it: tokenkeeper creates
			// the file) is for the files tokenkeeper writes; the key is the
			// user's, and removing the link would lose the way to it.
			hint = "name the key file itself in clientKey (the link points to " + target + "), not a link to it"
		}
		return nil, fail("clientKey", keyPath, msg, hint)
	}
	if x := storage.FileExposure(keyPath); x != nil {
		hint := "run: " + x.Fix + " (tokenkeeper refuses a key others can read, as ssh does)"
		if storage.SystemPath(keyPath) {
			hint = "point clientKey at a key file of your own that only you can read"
		}
		return nil, fail("clientKey", keyPath, x.Problem+": a private key must be readable by its owner only", hint)
	}
	signer, alg, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fail("clientKey", keyPath, err.Error(), keyHint(err))
	}
	k := &ClientKey{Signer: signer, Alg: alg, KeyID: c.ClientKeyID}
	if c.ClientCert == "" {
		return k, nil
	}
	certPath := c.KeyPath(c.ClientCert)
	data, err = storage.ReadFile(certPath)
	if err != nil {
		msg, hint := readProblem(certPath, err)
		return nil, fail("clientCert", certPath, msg, hint)
	}
	certs, err := ParseCertificates(data)
	if err != nil {
		return nil, fail("clientCert", certPath, err.Error(),
			"clientCert must be a PEM file of the client's certificate (-----BEGIN CERTIFICATE-----), the one for clientKey first")
	}
	if !publicKeyEqual(certs[0].PublicKey, signer.Public()) {
		return nil, fail("clientCert", certPath, "its first certificate is not for the key in clientKey",
			"put the certificate of the key "+keyPath+" first in "+certPath+", or name that key's certificate in clientCert")
	}
	k.Leaf = certs[0]
	for _, cert := range certs {
		k.Chain = append(k.Chain, cert.Raw)
	}
	return k, nil
}

// readProblem says why path could not be read, and what to do.
func readProblem(path string, err error) (msg, hint string) {
	var re *storage.RecordError
	switch {
	case errors.As(err, &re):
		hint = re.Hint
		if hint == "" {
			hint = "use a regular file of your own, not a link: copy the file there and set its path"
		}
		return re.Msg, hint // what is wrong with the file; the KeyError names it
	case errors.Is(err, fs.ErrNotExist):
		return "no such file", "check the path (a relative one is taken from the directory of credentials.json)"
	case errors.Is(err, storage.ErrTooLarge):
		return fmt.Sprintf("larger than %d bytes: not a key or certificate", storage.MaxFileSize), "check the path"
	case errors.Is(err, fs.ErrPermission):
		return "cannot be read: permission denied", "make the file readable by the user tokenkeeper runs as (chmod 600, and chown it)"
	}
	msg = err.Error()
	if u := errors.Unwrap(err); u != nil { // the OS's error, under storage's that names the path
		msg = u.Error()
	}
	return "cannot be read: " + msg, "check the path"
}

func keyHint(err error) string {
	var ke *keyProblem
	if errors.As(err, &ke) && ke.hint != "" {
		return ke.hint
	}
	return "clientKey must be a PEM private key: RSA (2048 bits or more), EC P-256 or P-384, or Ed25519, unencrypted (-----BEGIN PRIVATE KEY-----)"
}

type keyProblem struct{ msg, hint string }

func (e *keyProblem) Error() string { return e.msg }

// ParsePrivateKey reads the one private key of a PEM file (PKCS #8, PKCS #1
// or SEC 1; other blocks, like the EC PARAMETERS openssl writes first, are
// passed over) and returns it with its JWS algorithm. A key of another kind
// or size, an encrypted key, an OpenSSH key, or more than one key is an
// error that names no key material.
func ParsePrivateKey(data []byte) (crypto.Signer, string, error) {
	var key any
	found := 0
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if _, enc := b.Headers["DEK-Info"]; enc {
				return nil, "", encrypted()
			}
			if b.Type == "RSA PRIVATE KEY" {
				key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
			} else {
				key, err = x509.ParseECPrivateKey(b.Bytes)
			}
		case "ENCRYPTED PRIVATE KEY":
			return nil, "", encrypted()
		case "OPENSSH PRIVATE KEY":
			return nil, "", &keyProblem{"is an OpenSSH key, not a PEM one",
				"convert a copy to PKCS #8: ssh-keygen -p -m PKCS8 -f COPY (RSA and EC keys), or make a key with openssl genpkey"}
		default:
			continue
		}
		if err != nil {
			return nil, "", &keyProblem{msg: fmt.Sprintf("its %s block does not parse", b.Type)}
		}
		if found++; found > 1 {
			return nil, "", &keyProblem{"holds more than one private key", "keep only the client's key in the file"}
		}
	}
	if found == 0 {
		return nil, "", &keyProblem{msg: "holds no PEM private key"}
	}
	return keyAlg(key)
}

func encrypted() error {
	return &keyProblem{"is encrypted, and tokenkeeper runs unattended",
		"decrypt it into a file only you can read: openssl pkey -in KEY -out PLAIN (then chmod 600 PLAIN)"}
}

// keyAlg accepts the keys JWS and TLS 1.2/1.3 client certificates both take.
func keyAlg(key any) (crypto.Signer, string, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < MinRSABits {
			return nil, "", &keyProblem{fmt.Sprintf("is an RSA key of %d bits, below %d", k.N.BitLen(), MinRSABits),
				"make a new key: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072"}
		}
		return k, "RS256", nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return k, "ES256", nil
		case elliptic.P384():
			return k, "ES384", nil
		}
		return nil, "", &keyProblem{fmt.Sprintf("is an EC key on %s: unsupported key type", k.Curve.Params().Name),
			"use P-256 or P-384: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"}
	case ed25519.PrivateKey:
		return k, "EdDSA", nil
	}
	return nil, "", &keyProblem{fmt.Sprintf("is a %T key: unsupported key type", key), ""}
}

// ParseCertificates reads a PEM certificate chain: at least one
// certificate, every CERTIFICATE block parsing; other blocks are passed over.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse", len(certs)+1)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("holds no PEM certificate")
	}
	return certs, nil
}

func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
