package storage

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

// Each TLS failure no retry fixes is told apart, wrapped as net/http and the
// TLS handshake wrap them; a timeout, a refused connection and a cancel are
// none of them.
func TestTLSProblem(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://h.example/token", Err: fmt.Errorf("x: %w", err)}
	}
	for _, tt := range []struct {
		name string
		err  error
		want TLSCause
	}{
		{"unknown authority", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, TLSUntrusted},
		{"host name", &tls.CertificateVerificationError{Err: x509.HostnameError{Host: "h.example", Certificate: &x509.Certificate{}}}, TLSWrongHost},
		{"expired", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired}}, TLSExpired},
		{"other invalid", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.NotAuthorizedToSign}}, TLSInvalid},
		{"verification", &tls.CertificateVerificationError{Err: errors.New("no")}, TLSInvalid},
		{"plain http", http.ErrSchemeMismatch, TLSPlainHTTP},
		{"not tls", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, TLSNotTLS},
		{"timeout", context.DeadlineExceeded, TLSNone},
		{"cancelled", context.Canceled, TLSNone},
		{"refused", errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), TLSNone},
	} {
		if got, what := TLSProblem(wrap(tt.err)); got != tt.want || (got != TLSNone) != (what != "") {
			t.Errorf("%s: TLSProblem = %d %q, want %d", tt.name, got, what, tt.want)
		}
	}
}
