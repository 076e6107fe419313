package kube

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// The objects, as much of them as this store reads and writes (JSON of
// core/v1 Secret and coordination.k8s.io/v1 Lease).

type objectMeta struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace,omitempty"`
	ResourceVersion string            `json:"resourceVersion,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Annotations     map[string]string `json:"annotations,omitempty"`
}

type secret struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   objectMeta        `json:"metadata"`
	Type       string            `json:"type,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"` // base64 in JSON, as the API has it
}

type lease struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   objectMeta `json:"metadata"`
	Spec       leaseSpec  `json:"spec"`
}

type leaseSpec struct {
	HolderIdentity       string `json:"holderIdentity,omitempty"`
	LeaseDurationSeconds int32  `json:"leaseDurationSeconds,omitempty"`
	AcquireTime          string `json:"acquireTime,omitempty"` // MicroTime
	RenewTime            string `json:"renewTime,omitempty"`
	LeaseTransitions     int32  `json:"leaseTransitions,omitempty"`
}

// microTime is metav1.MicroTime's format.
const microTime = "2006-01-02T15:04:05.000000Z07:00"

func now() string { return time.Now().UTC().Format(microTime) }

// The key of the Secret's data that holds the record, and the labels every
// object of the store carries: what it is, and which prefix it belongs to
// (refresh --all lists by it).
const (
	dataKey      = "record"
	labelManaged = "app.kubernetes.io/managed-by"
	labelPrefix  = "tokenkeeper/prefix"
	labelProfile = "tokenkeeper/profile"
	labelAside   = "tokenkeeper/set-aside"
)

func (c *Client) labels(profile string) map[string]string {
	return map[string]string{labelManaged: "tokenkeeper", labelPrefix: c.cfg.Prefix, labelProfile: profile}
}

func (c *Client) secretPath(name string) string {
	return "/api/v1/namespaces/" + c.cfg.Namespace + "/secrets" + slashed(name)
}

func (c *Client) leasePath(name string) string {
	return "/apis/coordination.k8s.io/v1/namespaces/" + c.cfg.Namespace + "/leases" + slashed(name)
}

func slashed(name string) string {
	if name == "" {
		return ""
	}
	return "/" + url.PathEscape(name)
}

const (
	resSecrets = "secrets"
	resLeases  = "leases.coordination.k8s.io"
)

func (c *Client) getSecret(ctx context.Context, name string) (*secret, error) {
	var s secret
	err := c.do(ctx, request{method: http.MethodGet, path: c.secretPath(name), verb: "get", resource: resSecrets, name: name}, &s)
	return &s, err
}

// putSecret creates s when it has no resourceVersion, else replaces it if
// it is still that version (409 otherwise).
func (c *Client) putSecret(ctx context.Context, s *secret) (*secret, error) {
	s.APIVersion, s.Kind, s.Metadata.Namespace = "v1", "Secret", c.cfg.Namespace
	if s.Type == "" {
		s.Type = "Opaque"
	}
	var out secret
	r := request{method: http.MethodPut, path: c.secretPath(s.Metadata.Name), verb: "update", resource: resSecrets, name: s.Metadata.Name, body: s}
	if s.Metadata.ResourceVersion == "" {
		r = request{method: http.MethodPost, path: c.secretPath(""), verb: "create", resource: resSecrets, body: s}
	}
	err := c.do(ctx, r, &out)
	return &out, err
}

// deleteSecret deletes name if it is still at resourceVersion rv.
func (c *Client) deleteSecret(ctx context.Context, name, rv string) error {
	body := map[string]any{"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": map[string]string{"resourceVersion": rv}}
	return c.do(ctx, request{method: http.MethodDelete, path: c.secretPath(name), verb: "delete", resource: resSecrets, name: name, body: body}, nil)
}

func (c *Client) getLease(ctx context.Context, name string) (*lease, error) {
	var l lease
	err := c.do(ctx, request{method: http.MethodGet, path: c.leasePath(name), verb: "get", resource: resLeases, name: name}, &l)
	return &l, err
}

// putLease creates l when it has no resourceVersion, else replaces it if it
// is still that version.
func (c *Client) putLease(ctx context.Context, l *lease) (*lease, error) {
	l.APIVersion, l.Kind, l.Metadata.Namespace = "coordination.k8s.io/v1", "Lease", c.cfg.Namespace
	var out lease
	r := request{method: http.MethodPut, path: c.leasePath(l.Metadata.Name), verb: "update", resource: resLeases, name: l.Metadata.Name, body: l}
	if l.Metadata.ResourceVersion == "" {
		r = request{method: http.MethodPost, path: c.leasePath(""), verb: "create", resource: resLeases, body: l}
	}
	err := c.do(ctx, r, &out)
	return &out, err
}
