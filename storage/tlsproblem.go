package storage

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
)

// TLSCause is what a TLS failure that no retry fixes is about.
type TLSCause int

const (
	TLSNone      TLSCause = iota // not such a failure
	TLSUntrusted                 // the certificate's authority is not trusted here
	TLSWrongHost                 // the certificate is for another host name
	TLSExpired                   // the certificate has expired, or is not valid yet
	TLSInvalid                   // the certificate does not verify otherwise
	TLSPlainHTTP                 // the port answered in plain HTTP
	TLSNotTLS                    // the port speaks something else than TLS
)

// TLSProblem tells whether err, from an HTTP request, is a TLS failure that
// no retry fixes — a certificate that does not verify, a port that does not
// speak TLS — and says what failed, in words for a message. It is the one
// list of such failures: the token endpoint's client and the shared store
// each add their own hint. Any other error is TLSNone.
func TLSProblem(err error) (TLSCause, string) {
	var (
		unknown x509.UnknownAuthorityError
		name    x509.HostnameError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		return TLSUntrusted, "its certificate is signed by an authority this host does not trust"
	case errors.As(err, &name):
		return TLSWrongHost, "its certificate is not for this host name"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return TLSExpired, "its certificate has expired or is not valid yet"
	case errors.As(err, &invalid), errors.As(err, &verify):
		return TLSInvalid, "its certificate does not verify"
	case errors.Is(err, http.ErrSchemeMismatch):
		return TLSPlainHTTP, "it answered in plain HTTP, not TLS"
	case errors.As(err, &record):
		return TLSNotTLS, "it does not speak TLS on this port"
	}
	return TLSNone, ""
}

// ConfigError is a store that cannot be used as it is configured (its URL,
// its certificate authority): no retry fixes it, a person must (exit 78).
type ConfigError struct {
	Msg  string
	Hint string
	Err  error
}

func (e *ConfigError) Error() string { return e.Msg }
func (e *ConfigError) Unwrap() error { return e.Err }
